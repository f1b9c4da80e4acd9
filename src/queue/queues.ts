import type { JobsOptions } from 'bullmq';

/**
 * Every queue, job name and job option in one place. Jobs carry ids only (never a secret or a
 * snapshot of state): the runner reads the truth from Postgres each time.
 */
export const QUEUES = {
  operations: 'operations',
  statusSync: 'status-sync',
  backendProbes: 'backend-probes',
  /** Cluster-wide periodic work: one job per period for all workers together, not one per worker. */
  maintenance: 'maintenance',
  quotaReconcile: 'quota-reconcile',
} as const;

export const JOBS = {
  runOperation: 'run-operation',
  syncBackend: 'sync-backend',
  probeBackend: 'probe-backend',
  sweep: 'sweep',
  relayOutbox: 'relay-outbox',
  reconcileQuotas: 'reconcile-quotas',
  expireClusters: 'expire-clusters',
} as const;

export type MaintenanceJobName = typeof JOBS.sweep | typeof JOBS.relayOutbox | typeof JOBS.expireClusters;

/** Scheduler ids of the maintenance queue: one scheduler per periodic task, whatever the number of workers. */
export const MAINTENANCE_SCHEDULERS = {
  sweep: 'sweep',
  relayOutbox: 'relay-outbox',
  expireClusters: 'expire-clusters',
} as const;

export interface RunOperationJob {
  operationId: string;
}

export interface SyncBackendJob {
  backendId: string;
}

/** The job id of an operation is the operation id, so enqueueing it twice is a no-op. */
export const operationJobId = (operationId: string) => operationId;
export const syncSchedulerId = (backendId: string) => `sync:${backendId}`;
export const probeSchedulerId = (backendId: string) => `probe:${backendId}`;
/** One scheduler for the whole deployment: every worker upserts the same id. */
export const QUOTA_RECONCILE_SCHEDULER_ID = 'quota-reconcile';

export interface ProbeBackendJob {
  backendId: string;
}

export const OPERATION_JOB_OPTIONS: JobsOptions = {
  // Step retries are the runner's business (persisted in Postgres); a job that throws
  // unexpectedly is retried a few times here and otherwise picked up again by the sweeper.
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: true,
};

/**
 * Worker lock settings. BullMQ's defaults (30 s lock, 30 s stall check) mean a job that was active
 * in a worker killed with SIGKILL is only handed to another worker 30–60 s later, while the
 * sweeper cannot help (the job still exists). Shorter locks bound crash recovery to ~15 s; the
 * lock is renewed every half lock, and a double run is harmless anyway (the Postgres lease).
 */
export const WORKER_LOCK_OPTIONS = { lockDuration: 10_000, stalledInterval: 5_000 } as const;

/** A maintenance run that fails is not retried: the next period runs it again. */
export const MAINTENANCE_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: true,
};

export const SYNC_JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  removeOnComplete: true,
  removeOnFail: true,
};
