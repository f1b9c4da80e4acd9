import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ClustersRepository } from '../clusters/clusters.repository';
import { OperationOutcomes } from '../clusters/operation-outcomes.service';
import { BackendDriver } from '../rancher-backends/backend-driver';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { retryDelayMs } from './backoff';
import { isFinal, OperationRecord, StepRecord } from './operation.types';
import { StepContext, StepError, StepResult, toStepError } from './operation-step';
import { OperationsRepository } from './operations.repository';
import { StepRegistry } from './step-registry';

export type RunOutcome = { kind: 'finished' } | { kind: 'wait'; delayMs: number };

/**
 * Drives one operation through its persisted steps: leases it, dispatches each step to its handler
 * by key, retries with backoff inside the deadline, and hands the end to `OperationOutcomes`.
 * Exactly one runner works on an operation at a time (a lease in Postgres), every step's progress
 * is committed before the next starts, and the runner returns instead of sleeping when it must
 * wait, so the job is re-queued with a delay.
 */
@Injectable()
export class OperationRunner {
  private readonly logger = new Logger(OperationRunner.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly operations: OperationsRepository,
    private readonly registry: StepRegistry,
    private readonly outcomes: OperationOutcomes,
    private readonly clusters: ClustersRepository,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  async run(operationId: string): Promise<RunOutcome> {
    if (!(await this.operations.acquireLease(operationId, this.owner, this.config.operationLeaseMs))) {
      const state = await this.operations.stateOf(operationId);
      if (state === null || isFinal(state)) return { kind: 'finished' };
      // Another runner holds the lease (or held it and died): look again once it may have expired.
      return { kind: 'wait', delayMs: Math.min(5_000, this.config.operationLeaseMs) };
    }
    try {
      return await this.advance(operationId);
    } finally {
      await this.operations.releaseLease(operationId, this.owner);
    }
  }

  private async advance(operationId: string): Promise<RunOutcome> {
    for (;;) {
      const op = await this.operations.findById(operationId);
      if (!op || isFinal(op.state)) return { kind: 'finished' };
      // A cancel takes effect here, between two steps: the step that was running has finished
      // (or persisted its progress), so what it made is known and can be undone.
      if (op.cancelRequestedAt && op.phase === 'forward') {
        await this.outcomes.cancel(op);
        continue;
      }
      const step = op.steps.find(
        (s) => s.phase === op.phase && (s.state === 'pending' || s.state === 'running'),
      );
      if (!step) {
        // Not applied when a cancel was accepted since `op` was read: the next turn acts on it.
        if (await this.outcomes.complete(op)) return { kind: 'finished' };
        continue;
      }
      const compensating = op.phase === 'compensating';
      if (
        !compensating &&
        this.registry.declaration(op.type).deadline &&
        Date.now() > op.deadlineAt.getTime()
      ) {
        await this.operations.finishStep(op.id, step.position, 'failed');
        await this.outcomes.fail(
          op,
          'DEADLINE_EXCEEDED',
          `the operation did not finish by ${op.deadlineAt.toISOString()}`,
        );
        continue;
      }
      // Renew the lease before each step: a step is bounded by the client's timeouts.
      await this.operations.acquireLease(op.id, this.owner, this.config.operationLeaseMs);
      await this.operations.startStep(op.id, step.position);
      let result: StepResult;
      try {
        result = await this.dispatch(op, { ...step, attempts: step.attempts + 1 });
      } catch (error) {
        const failure = toStepError(error);
        await this.operations.recordStepError(op.id, step.position, failure.code, failure.message);
        // Compensation must finish, so it retries whatever the error; deletes retry transient errors forever.
        if (failure.retryable || compensating) {
          this.logger.warn({ operationId: op.id, step: step.label, code: failure.code }, failure.message);
          return { kind: 'wait', delayMs: retryDelayMs(step.attempts + 1, failure.retryAfterMs) };
        }
        await this.operations.finishStep(op.id, step.position, 'failed');
        await this.outcomes.fail(op, failure.code, failure.message);
        continue;
      }
      if (result.done) {
        await this.operations.finishStep(op.id, step.position, 'succeeded');
        continue;
      }
      return { kind: 'wait', delayMs: result.pollMs };
    }
  }

  private async dispatch(op: OperationRecord, step: StepRecord): Promise<StepResult> {
    const handler = this.registry.handler(step.key);
    if (!handler) throw new StepError('UNKNOWN_STEP', `no handler for step ${step.key}`, false);
    return handler.run(await this.contextFor(op, step));
  }

  /** The step's world, read fresh: the cluster, its pool, and a driver for its backend. */
  private async contextFor(op: OperationRecord, step: StepRecord): Promise<StepContext> {
    const cluster = await this.clusters.findById(op.clusterId);
    if (!cluster) throw new StepError('CLUSTER_MISSING', `cluster ${op.clusterId} has no record`, false);
    const backend = await this.backends.findById(cluster.backendId);
    if (!backend) throw new StepError('BACKEND_MISSING', `backend ${cluster.backendId} has no record`, false);
    let driver: BackendDriver;
    try {
      driver = this.drivers.forBackend(backend);
    } catch (error) {
      // The backend's token cannot be opened (encryption key missing): like an outage, the
      // operation waits (within its deadline) for an operator to fix the key or the token.
      throw new StepError(
        'BACKEND_TOKEN_UNREADABLE',
        `backend ${backend.name}: ${(error as Error).message}`,
        true,
      );
    }
    const poolId = step.nodePoolId ?? op.nodePoolId;
    const pool = poolId ? await this.clusters.findPool(poolId) : null;
    return { operation: op, step, cluster, pool, driver };
  }
}
