import { Injectable, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { UnitOfWork } from '../database/unit-of-work';
import { counter } from '../metrics/metrics.module';
import { compensationSteps, type OperationDeclaration } from '../operations/operation-declaration';
import type { OperationRecord } from '../operations/operation.types';
import { OperationsRepository } from '../operations/operations.repository';
import { QuotaService } from '../quota/quota.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { declarationOf } from './cluster-operations';
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
    const kind = await this.operations.backendKindOf(op.clusterId);
    const undo = compensationSteps(declarationOf(kind, op.type), op.nodePoolId);
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

  /**
   * Every step of the current phase is done: forward means succeeded; compensation means failed,
   * or cancelled when a cancel was accepted. Returns false, changing nothing, when the operation
   * was already final or a cancel was accepted while it went forward (the cancel wins).
   */
  async complete(op: OperationRecord): Promise<boolean> {
    const succeeded = op.phase === 'forward';
    return this.settle(
      op,
      succeeded ? 'succeeded' : op.cancelRequestedAt ? 'cancelled' : 'failed',
      succeeded,
    );
  }

  /**
   * Acts on an accepted cancel, at a step boundary. `compensate` turns to the undo steps (the
   * operation ends `cancelled` once they are done, with what it reserved given back); `stop`
   * ends it now, keeping what the backend was already asked for: the change counts as made once
   * the operation's first step (the one that asks the backend) has succeeded, and as never made
   * before. Quota and capacity follow, as for a success or a failure.
   */
  async cancel(op: OperationRecord): Promise<void> {
    const declaration: OperationDeclaration = declarationOf(
      await this.operations.backendKindOf(op.clusterId),
      op.type,
    );
    const by = op.cancelRequestedBy ?? 'unknown';
    this.logger.log({ operationId: op.id, type: op.type, by }, 'operation cancelled');
    const undo = compensationSteps(declaration, op.nodePoolId);
    if (declaration.cancel === 'compensate' && undo.length > 0) {
      const message = `cancelled by ${by}; undoing what was made`;
      await this.uow.run(() => this.operations.beginCompensation(op.id, 'CANCELLED', message, undo));
      return;
    }
    const changeMade = op.steps.find((s) => s.phase === 'forward')?.state === 'succeeded';
    await this.settle(op, 'cancelled', declaration.cancel === 'stop' && changeMade, {
      code: 'CANCELLED',
      message: `cancelled by ${by}`,
    });
  }

  /** Finishes the operation as `state` and applies its settlement, in one transaction. */
  private async settle(
    op: OperationRecord,
    state: 'succeeded' | 'failed' | 'cancelled',
    changeKept: boolean,
    error?: { code: string; message: string },
  ): Promise<boolean> {
    const applied = await this.uow.run(async () => {
      // Finish first: a runner that gets here a second time changes nothing.
      if (!(await this.operations.finish(op.id, state, error))) return false;
      const pool = op.nodePoolId ? await this.clusters.findPool(op.nodePoolId) : null;
      // Measured before any pool is marked gone: what the cluster counts right now.
      const usage = await this.clusters.usageOf(op.clusterId);
      const settlement = settlementOf({
        operation: op,
        succeeded: changeKept,
        clusterNodes: usage.nodes,
        poolQuantity: pool?.quantity ?? null,
      });
      await this.apply(op, settlement, usage.backendId);
      return true;
    });
    if (applied) this.finished.inc({ type: op.type, outcome: state });
    return applied;
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
