import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { UnitOfWork } from '../database/unit-of-work';
import { counter } from '../metrics/metrics.module';
import { BackendDriver, PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { QuotaService } from '../quota/quota.service';
import { ClusterRecord, ClustersRepository, NodePoolRecord } from './clusters.repository';
import { hostnamePrefixFor } from './cluster-names';
import { compensationFor, STEP, stepKind } from './operation-plans';
import { OperationRecord, OperationsRepository, StepRecord } from './operations.repository';

export type RunOutcome = { kind: 'finished' } | { kind: 'wait'; delayMs: number };

type StepResult = { done: true } | { done: false; pollMs: number };
const DONE: StepResult = { done: true };
const poll = (pollMs: number): StepResult => ({ done: false, pollMs });

/** A step failure in Paddock's words, with a stable code for the operation's error. */
export class StepError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** Maps driver errors to step errors; anything else (a database error, a bug) propagates. */
function toStepError(error: unknown): StepError {
  if (error instanceof StepError) return error;
  if (isBackendError(error)) {
    const code =
      error.kind === 'invalid' || error.kind === 'forbidden' || error.kind === 'conflict'
        ? 'BACKEND_REJECTED'
        : error.kind === 'unauthorized'
          ? 'BACKEND_UNAUTHORIZED'
          : 'BACKEND_UNAVAILABLE';
    return new StepError(
      code,
      `${error.method} ${error.path}: ${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`,
      error.retryable,
      error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined,
    );
  }
  throw error;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15_000;
/** A provisioning error the backend keeps reporting this long is treated as final (terraform waits 120 s too). */
const PROVISIONING_ERROR_GRACE_MS = 120_000;

/** Exponential backoff with jitter: half fixed, half random, so retries of many operations spread out. */
export function backoffMs(attempt: number): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

const isDelete = (op: OperationRecord) => op.type === 'delete-cluster' || op.type === 'delete-node-pool';

/**
 * Drives one operation through its persisted steps. Exactly one runner works on an operation at
 * a time (a lease in Postgres), every step's progress is committed before the next starts, and
 * the runner returns instead of sleeping when it must wait, so the job is re-queued with a delay.
 */
@Injectable()
export class OperationRunner {
  private readonly logger = new Logger(OperationRunner.name);
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly outcomes;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly operations: OperationsRepository,
    private readonly clusters: ClustersRepository,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly quota: QuotaService,
    registry: Registry,
  ) {
    this.outcomes = counter(registry, {
      name: 'paddock_operations_total',
      help: 'Operations that reached a final state, by type and outcome.',
      labelNames: ['type', 'outcome'],
    });
  }

  async run(operationId: string): Promise<RunOutcome> {
    if (!(await this.operations.claim(operationId, this.owner, this.config.operationLeaseMs))) {
      const state = await this.operations.stateOf(operationId);
      if (state === null || state === 'succeeded' || state === 'failed') return { kind: 'finished' };
      // Another runner holds the lease (or held it and died): look again once it may have expired.
      return { kind: 'wait', delayMs: Math.min(5_000, this.config.operationLeaseMs) };
    }
    try {
      return await this.advance(operationId);
    } finally {
      await this.operations.release(operationId, this.owner);
    }
  }

  private async advance(operationId: string): Promise<RunOutcome> {
    for (;;) {
      const op = await this.operations.findById(operationId);
      if (!op || op.state === 'succeeded' || op.state === 'failed') return { kind: 'finished' };
      const compensating = op.phase === 'compensating';
      const step = op.steps.find(
        (s) =>
          s.name.startsWith('compensate:') === compensating &&
          (s.state === 'pending' || s.state === 'running'),
      );
      if (!step) {
        await this.complete(op);
        return { kind: 'finished' };
      }
      if (!compensating && !isDelete(op) && Date.now() > op.deadlineAt.getTime()) {
        await this.operations.finishStep(op.id, step.position, 'failed');
        await this.fail(
          op,
          'DEADLINE_EXCEEDED',
          `the operation did not finish by ${op.deadlineAt.toISOString()}`,
        );
        continue;
      }
      // Renew the lease before each step: a step is bounded by the client's timeouts.
      await this.operations.claim(op.id, this.owner, this.config.operationLeaseMs);
      await this.operations.startStep(op.id, step.position);
      let result: StepResult;
      try {
        result = await this.execute(op, { ...step, attempts: step.attempts + 1 });
      } catch (error) {
        const failure = toStepError(error);
        await this.operations.recordStepError(op.id, step.position, failure.code, failure.message);
        // Compensation must finish, so it retries whatever the error; deletes retry transient errors forever.
        if (failure.retryable || compensating) {
          this.logger.warn({ operationId: op.id, step: step.name, code: failure.code }, failure.message);
          return { kind: 'wait', delayMs: Math.max(failure.retryAfterMs ?? 0, backoffMs(step.attempts + 1)) };
        }
        await this.operations.finishStep(op.id, step.position, 'failed');
        await this.fail(op, failure.code, failure.message);
        continue;
      }
      if (result.done) {
        await this.operations.finishStep(op.id, step.position, 'succeeded');
        continue;
      }
      return { kind: 'wait', delayMs: result.pollMs };
    }
  }

  private async execute(op: OperationRecord, step: StepRecord): Promise<StepResult> {
    const cluster = await this.clusters.findById(op.clusterId);
    if (!cluster) throw new StepError('CLUSTER_MISSING', `cluster ${op.clusterId} has no record`, false);
    const backend = await this.backends.findById(cluster.backendId);
    if (!backend) throw new StepError('BACKEND_MISSING', `backend ${cluster.backendId} has no record`, false);
    let driver: ReturnType<BackendDriversService['forBackend']>;
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
    const pool = step.nodePoolId
      ? await this.clusters.findPool(step.nodePoolId)
      : op.nodePoolId
        ? await this.clusters.findPool(op.nodePoolId)
        : null;

    switch (stepKind(step.name)) {
      case STEP.createCluster:
        return this.createCluster(driver, cluster);
      case STEP.awaitRoles:
        return this.awaitRoles(driver, cluster);
      case STEP.createNodePool:
        return this.createNodePool(driver, cluster, this.requirePool(pool, step));
      case STEP.awaitActive:
        return this.awaitActive(driver, step, cluster);
      case STEP.scaleNodePool: {
        const target = this.requirePool(pool, step);
        if (!target.rancherId)
          throw new StepError(
            'NODE_POOL_NOT_CREATED',
            `pool ${target.name} was never created on the backend`,
            false,
          );
        await driver.scaleNodePool(target.rancherId, op.params.quantity ?? target.quantity);
        return DONE;
      }
      case STEP.deleteNodePool:
        await this.deleteNodePool(driver, cluster, this.requirePool(pool, step));
        return DONE;
      case STEP.awaitNodePoolDeleted:
      case STEP.compensateDeleteNodePool: {
        const target = this.requirePool(pool, step);
        const remoteId = await this.deleteNodePool(driver, cluster, target);
        return remoteId && (await driver.getNodePool(remoteId)) ? poll(500) : DONE;
      }
      case STEP.deleteCluster:
      case STEP.compensateDeleteCluster:
        await this.deleteCluster(driver, cluster);
        return DONE;
      case STEP.awaitClusterDeleted:
      case STEP.compensateAwaitClusterDeleted: {
        const remoteId = cluster.rancherId ?? (await this.findOwnCluster(driver, cluster))?.id;
        if (!remoteId) return DONE;
        const remote = await driver.getCluster(remoteId);
        if (!remote) return DONE;
        // A cluster that is not yet removing (the delete was lost) gets the delete again.
        if (!remote.removing) await driver.deleteCluster(remoteId);
        return poll(500);
      }
      case STEP.compensateRestoreQuantity: {
        const target = this.requirePool(pool, step);
        if (target.rancherId && op.params.previousQuantity !== undefined) {
          await driver.scaleNodePool(target.rancherId, op.params.previousQuantity);
        }
        return DONE;
      }
      default:
        throw new StepError('UNKNOWN_STEP', `no handler for step ${step.name}`, false);
    }
  }

  private requirePool(pool: NodePoolRecord | null, step: StepRecord): NodePoolRecord {
    if (!pool)
      throw new StepError('NODE_POOL_MISSING', `step ${step.name} names a pool that has no record`, false);
    return pool;
  }

  /** Looks for an earlier attempt's cluster before creating one. */
  private async createCluster(driver: BackendDriver, cluster: ClusterRecord): Promise<StepResult> {
    if (cluster.rancherId) return DONE;
    const existing = await driver.findClusterByName(cluster.rancherName);
    if (existing) {
      if (existing.labels[PADDOCK_LABELS.clusterId] !== cluster.id) {
        throw new StepError(
          'NAME_TAKEN_ON_BACKEND',
          `a cluster named ${cluster.rancherName} that Paddock did not create exists on the backend`,
          false,
        );
      }
      await this.clusters.setRancherId(cluster.id, existing.id);
      return DONE;
    }
    let created;
    try {
      created = await driver.createCluster({
        name: cluster.rancherName,
        kubernetesVersion: cluster.kubernetesVersion ?? undefined,
        labels: {
          [PADDOCK_LABELS.managed]: 'true',
          [PADDOCK_LABELS.clusterId]: cluster.id,
          [PADDOCK_LABELS.projectId]: cluster.projectId,
        },
      });
    } catch (error) {
      // An earlier attempt that timed out can land after this attempt's look-up: the name is then
      // taken by our own cluster, which a second look-up finds (its label proves it is ours).
      if (!(isBackendError(error) && error.rancherCode === 'NotUnique')) throw error;
      const own = await this.findOwnCluster(driver, cluster);
      if (!own) throw error;
      await this.clusters.setRancherId(cluster.id, own.id);
      return DONE;
    }
    await this.clusters.setRancherId(cluster.id, created.id);
    return DONE;
  }

  /** Rancher refuses node pools until the cluster's roles exist (rancher-api.md §11.9). */
  private async awaitRoles(driver: BackendDriver, cluster: ClusterRecord): Promise<StepResult> {
    const remote = cluster.rancherId ? await driver.getCluster(cluster.rancherId) : null;
    if (!remote || remote.removing) {
      throw new StepError(
        'CLUSTER_VANISHED',
        `cluster ${cluster.rancherName} disappeared from the backend`,
        false,
      );
    }
    const ready = remote.conditions.some((c) => c.type === 'InitialRolesPopulated' && c.status === 'True');
    return ready ? DONE : poll(250);
  }

  private async createNodePool(
    driver: BackendDriver,
    cluster: ClusterRecord,
    pool: NodePoolRecord,
  ): Promise<StepResult> {
    if (pool.rancherId) return DONE;
    if (!cluster.rancherId)
      throw new StepError('CLUSTER_NOT_CREATED', 'the cluster does not exist on the backend yet', false);
    const existing = (await driver.listNodePools(cluster.rancherId)).find(
      (p) => p.labels[PADDOCK_LABELS.poolId] === pool.id,
    );
    if (existing) {
      await this.clusters.setPoolRancherId(pool.id, existing.id);
      return DONE;
    }
    const created = await driver.createNodePool({
      clusterId: cluster.rancherId,
      hostnamePrefix: hostnamePrefixFor(cluster.name, pool.name),
      quantity: pool.quantity,
      roles: {
        etcd: pool.roles.includes('etcd'),
        controlPlane: pool.roles.includes('controlplane'),
        worker: pool.roles.includes('worker'),
      },
      nodeTemplateId: pool.nodeTemplateId,
      labels: {
        [PADDOCK_LABELS.managed]: 'true',
        [PADDOCK_LABELS.clusterId]: cluster.id,
        [PADDOCK_LABELS.poolId]: pool.id,
      },
    });
    await this.clusters.setPoolRancherId(pool.id, created.id);
    return DONE;
  }

  /**
   * Done when the status sync (not this runner) has seen the cluster and its pools ready, and a
   * last look at the backend's pools finds no duplicate: a pool create that timed out can still
   * land after the retry's look-up created the pool again (Rancher does not make pool names
   * unique). By then any such request has long ended, so one look here removes the stray copy.
   */
  private async awaitActive(
    driver: BackendDriver,
    step: StepRecord,
    cluster: ClusterRecord,
  ): Promise<StepResult> {
    const pools = await this.clusters.poolsOf([cluster.id]);
    const startedAt = step.startedAt?.getTime() ?? Date.now();
    if (cluster.remoteTransitioning === 'error' && Date.now() - startedAt > PROVISIONING_ERROR_GRACE_MS) {
      throw new StepError(
        'CLUSTER_PROVISIONING_FAILED',
        cluster.remoteMessage ?? 'the backend reports a provisioning error',
        false,
      );
    }
    const synced = cluster.statusUpdatedAt !== null && cluster.statusUpdatedAt.getTime() >= startedAt;
    const poolsReady = pools
      .filter((p) => p.state !== 'deleting')
      .every((p) => p.remoteQuantity === p.quantity && p.readyNodes === p.quantity);
    if (!(synced && cluster.remoteState === 'active' && poolsReady)) {
      return poll(Math.max(250, Math.floor(this.config.syncPeriodMs / 2)));
    }
    if (!cluster.rancherId) return DONE;
    const ours = new Map(pools.filter((p) => p.rancherId).map((p) => [p.id, p.rancherId]));
    const strays = (await driver.listNodePools(cluster.rancherId)).filter((remote) => {
      const owner = remote.labels[PADDOCK_LABELS.poolId];
      return (
        owner !== undefined && ours.has(owner) && ours.get(owner) !== remote.id && remote.state !== 'removing'
      );
    });
    for (const stray of strays) {
      this.logger.warn(
        { clusterId: cluster.id, rancherPoolId: stray.id },
        'removing a duplicate node pool left by a timed-out create',
      );
      await driver.deleteNodePool(stray.id);
    }
    return strays.length > 0 ? poll(500) : DONE;
  }

  /** Deletes the pool on the backend if it exists there; returns its Rancher id, if any. */
  private async deleteNodePool(
    driver: BackendDriver,
    cluster: ClusterRecord,
    pool: NodePoolRecord,
  ): Promise<string | null> {
    let remoteId = pool.rancherId;
    if (!remoteId && cluster.rancherId) {
      remoteId =
        (await driver.listNodePools(cluster.rancherId)).find(
          (p) => p.labels[PADDOCK_LABELS.poolId] === pool.id,
        )?.id ?? null;
      if (remoteId) await this.clusters.setPoolRancherId(pool.id, remoteId);
    }
    if (remoteId) await driver.deleteNodePool(remoteId);
    return remoteId;
  }

  private async findOwnCluster(driver: BackendDriver, cluster: ClusterRecord) {
    const found = await driver.findClusterByName(cluster.rancherName);
    return found && found.labels[PADDOCK_LABELS.clusterId] === cluster.id ? found : null;
  }

  /** Deletes the cluster on the backend, finding it by name when an earlier create's answer was lost. */
  private async deleteCluster(driver: BackendDriver, cluster: ClusterRecord): Promise<void> {
    let remoteId = cluster.rancherId;
    if (!remoteId) {
      remoteId = (await this.findOwnCluster(driver, cluster))?.id ?? null;
      if (remoteId) await this.clusters.setRancherId(cluster.id, remoteId);
    }
    if (remoteId) await driver.deleteCluster(remoteId);
  }

  /** A forward step failed for good: undo what can be undone, or finish as failed. */
  private async fail(op: OperationRecord, code: string, message: string): Promise<void> {
    this.logger.warn({ operationId: op.id, type: op.type, code }, `operation failed: ${message}`);
    const undo = compensationFor(op.type);
    if (undo.length > 0) {
      await this.uow.run(() => this.operations.beginCompensation(op.id, code, message, undo));
      return;
    }
    await this.uow.run(async () => {
      if (!(await this.operations.finish(op.id, 'failed', { code, message }))) return;
      if (op.type === 'delete-cluster') await this.clusters.setState(op.clusterId, 'error');
      if (op.type === 'delete-node-pool' && op.nodePoolId) {
        await this.clusters.setPoolState(op.nodePoolId, 'active');
        await this.clusters.setState(op.clusterId, 'active');
      }
    });
    this.outcomes.inc({ type: op.type, outcome: 'failed' });
  }

  /** Every step of the current phase is done: apply the operation's final effect in one transaction. */
  private async complete(op: OperationRecord): Promise<void> {
    const succeeded = op.phase === 'forward';
    const applied = await this.uow.run(async () => {
      // Finish first: a runner that gets here a second time changes nothing.
      if (!(await this.operations.finish(op.id, succeeded ? 'succeeded' : 'failed'))) return false;
      await this.applyOutcome(op, succeeded);
      return true;
    });
    if (applied) this.outcomes.inc({ type: op.type, outcome: succeeded ? 'succeeded' : 'failed' });
  }

  /**
   * The operation's effect on clusters and pools, then on the project's quota and the backend's
   * capacity. What was reserved at request time becomes usage when the change succeeded and is
   * given back when it failed; shrinks and deletes free their share once they are done. Like the
   * API's transactions, this takes the operation and cluster rows first and the two counters last,
   * quota before backend: one order everywhere, so no two transactions wait on each other in a
   * circle, and the contended counter rows stay locked only for the moment before commit.
   */
  private async applyOutcome(op: OperationRecord, succeeded: boolean): Promise<void> {
    const pool = op.nodePoolId ? await this.clusters.findPool(op.nodePoolId) : null;
    // Measured before any pool is marked gone: what the cluster counts right now.
    const usage = await this.clusters.usageOf(op.clusterId);
    const whole = { clusters: 1, nodes: usage.nodes };
    let quota: (() => Promise<void>) | null = null;
    const backendRelease = { clusters: 0, nodes: 0 };

    switch (op.type) {
      case 'create-cluster':
        if (succeeded) {
          quota = () => this.quota.confirm(op.projectId, whole);
          await this.clusters.setState(op.clusterId, 'active');
          for (const p of await this.clusters.poolsOf([op.clusterId]))
            await this.clusters.setPoolState(p.id, 'active');
        } else {
          quota = () => this.quota.cancel(op.projectId, whole);
          Object.assign(backendRelease, whole);
          await this.clusters.setState(op.clusterId, 'failed');
        }
        break;
      case 'delete-cluster':
        // The cluster and its nodes count until the backend has deleted them.
        quota = () => this.quota.free(op.projectId, whole);
        Object.assign(backendRelease, whole);
        await this.clusters.setState(op.clusterId, 'deleted');
        break;
      case 'add-node-pool':
        if (pool) {
          const amount = { clusters: 0, nodes: pool.quantity };
          quota = () =>
            succeeded ? this.quota.confirm(op.projectId, amount) : this.quota.cancel(op.projectId, amount);
          if (!succeeded) backendRelease.nodes = pool.quantity;
          await this.clusters.setPoolState(pool.id, succeeded ? 'active' : 'failed');
        }
        await this.clusters.setState(op.clusterId, 'active');
        break;
      case 'scale-node-pool': {
        const delta = (op.params.quantity ?? 0) - (op.params.previousQuantity ?? 0);
        if (delta > 0) {
          const amount = { clusters: 0, nodes: delta };
          quota = () =>
            succeeded ? this.quota.confirm(op.projectId, amount) : this.quota.cancel(op.projectId, amount);
        } else if (delta < 0 && succeeded) {
          quota = () => this.quota.free(op.projectId, { clusters: 0, nodes: -delta });
        }
        backendRelease.nodes = Math.max(0, succeeded ? -delta : delta);
        if (pool)
          await this.clusters.setPoolState(
            pool.id,
            'active',
            succeeded ? undefined : op.params.previousQuantity,
          );
        await this.clusters.setState(op.clusterId, 'active');
        break;
      }
      case 'delete-node-pool':
        if (pool) {
          quota = () => this.quota.free(op.projectId, { clusters: 0, nodes: pool.quantity });
          backendRelease.nodes = pool.quantity;
          await this.clusters.setPoolState(pool.id, 'deleted');
        }
        await this.clusters.setState(op.clusterId, 'active');
        break;
    }
    if (quota) await quota();
    if (backendRelease.clusters > 0 || backendRelease.nodes > 0) {
      await this.backends.release(usage.backendId, backendRelease.clusters, backendRelease.nodes);
    }
  }
}
