import { Injectable, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { UnitOfWork } from '../database/unit-of-work';
import { counter } from '../metrics/metrics.module';
import { compensationSteps } from '../operations/operation-declaration';
import type { OperationRecord } from '../operations/operation.types';
import { OperationsRepository } from '../operations/operations.repository';
import { QuotaService } from '../quota/quota.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { CLUSTER_OPERATIONS } from './cluster-operations';
import { ClustersRepository } from './clusters.repository';
import { failureWithoutUndo, Settlement, settlementOf } from './operation-settlement';

/**
 * The end of an operation, in one transaction each: the operation's final state, then its effect
 * on the cluster and pool rows, then on the project's quota and the backend's capacity. Like the
 * API's transactions, these take the operation and cluster rows first and the two counters last,
 * quota before backend: one order everywhere, so no two transactions wait on each other in a
 * circle, and the contended counter rows stay locked only for the moment before commit.
 */
@Injectable()
export class OperationOutcomes {
  private readonly logger = new Logger(OperationOutcomes.name);
  private readonly finished;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly operations: OperationsRepository,
    private readonly clusters: ClustersRepository,
    private readonly backends: BackendsRepository,
    private readonly quota: QuotaService,
    registry: Registry,
  ) {
    this.finished = counter(registry, {
      name: 'paddock_operations_total',
      help: 'Operations that reached a final state, by type and outcome.',
      labelNames: ['type', 'outcome'],
    });
  }

  /** A forward step failed for good (or the deadline passed): undo what can be undone, or finish as failed. */
  async fail(op: OperationRecord, code: string, message: string): Promise<void> {
    this.logger.warn({ operationId: op.id, type: op.type, code }, `operation failed: ${message}`);
    const undo = compensationSteps(CLUSTER_OPERATIONS[op.type], op.nodePoolId);
    if (undo.length > 0) {
      await this.uow.run(() => this.operations.beginCompensation(op.id, code, message, undo));
      return;
    }
    const applied = await this.uow.run(async () => {
      if (!(await this.operations.finish(op.id, 'failed', { code, message }))) return false;
      const after = failureWithoutUndo(op.type, op.params);
      if (after?.poolState && op.nodePoolId) await this.clusters.setPoolState(op.nodePoolId, after.poolState);
      if (after?.cluster) await this.clusters.setState(op.clusterId, after.cluster);
      return true;
    });
    if (applied) this.finished.inc({ type: op.type, outcome: 'failed' });
  }

  /** Every step of the current phase is done: forward means succeeded, compensation means failed. */
  async complete(op: OperationRecord): Promise<void> {
    const succeeded = op.phase === 'forward';
    const applied = await this.uow.run(async () => {
      // Finish first: a runner that gets here a second time changes nothing.
      if (!(await this.operations.finish(op.id, succeeded ? 'succeeded' : 'failed'))) return false;
      const pool = op.nodePoolId ? await this.clusters.findPool(op.nodePoolId) : null;
      // Measured before any pool is marked gone: what the cluster counts right now.
      const usage = await this.clusters.usageOf(op.clusterId);
      const settlement = settlementOf({
        operation: op,
        succeeded,
        clusterNodes: usage.nodes,
        poolQuantity: pool?.quantity ?? null,
      });
      await this.apply(op, settlement, usage.backendId);
      return true;
    });
    if (applied) this.finished.inc({ type: op.type, outcome: succeeded ? 'succeeded' : 'failed' });
  }

  private async apply(op: OperationRecord, s: Settlement, backendId: string): Promise<void> {
    if (s.pool && op.nodePoolId)
      await this.clusters.setPoolState(op.nodePoolId, s.pool.state, s.pool.quantity);
    if (s.cluster) await this.clusters.setState(op.clusterId, s.cluster);
    if (s.poolsActive) {
      for (const p of await this.clusters.poolsOf([op.clusterId]))
        await this.clusters.setPoolState(p.id, 'active');
    }
    if (s.quota) await this.quota[s.quota.action](op.projectId, s.quota.amount);
    if (s.backendRelease.clusters > 0 || s.backendRelease.nodes > 0) {
      await this.backends.release(backendId, s.backendRelease.clusters, s.backendRelease.nodes);
    }
  }
}
