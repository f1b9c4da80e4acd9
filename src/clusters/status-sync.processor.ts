import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { QUEUES, SyncBackendJob, WORKER_LOCK_OPTIONS } from '../queue/queues';
import { StatusSyncService } from './status-sync.service';
import { withRenewedLock } from './sync-lock';

/** Backends one worker syncs at once (the bench runs a many-backend cycle the same way). */
export const SYNC_CONCURRENCY = 4;

/**
 * Runs a backend's sync cycle. Cycles are started by a per-backend job scheduler; a random delay
 * of up to a fifth of the period spreads backends apart, and a short Redis lock, renewed while the
 * cycle runs, keeps two cycles of one backend from running at once (in one worker or several).
 */
@Processor(QUEUES.statusSync, { concurrency: SYNC_CONCURRENCY, ...WORKER_LOCK_OPTIONS })
export class StatusSyncProcessor extends WorkerHost {
  private readonly logger = new Logger(StatusSyncProcessor.name);

  constructor(
    private readonly sync: StatusSyncService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) private readonly redis: Redis,
  ) {
    super();
  }

  async process(job: Job<SyncBackendJob>): Promise<void> {
    const jitterMs = Math.floor(Math.random() * this.config.syncPeriodMs * 0.2);
    await new Promise((resolve) => setTimeout(resolve, jitterMs));
    const lockKey = `${this.config.queuePrefix}:sync-lock:${job.data.backendId}`;
    // The lock outlives a worker killed mid-cycle, blocking this backend's sync (and every operation
    // waiting in await-active) until it expires: keep it short, renewed while the cycle runs. A
    // cycle can outlast it (a big backend, a loaded machine); unrenewed, the next scheduled job
    // would start a second cycle beside it, and more up to this processor's concurrency, each
    // holding its own pages and slowing the others.
    await withRenewedLock(this.redis, lockKey, Math.max(10_000, this.config.syncPeriodMs * 5), () =>
      this.sync.syncBackend(job.data.backendId),
    );
  }

  /**
   * Redis-level trouble (a lost connection, a job's keys wiped by FLUSHALL): logged, not fatal.
   * The job's truth is in Postgres and the sweeper enqueues it again.
   */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn({ reason: error.message }, 'queue worker error');
  }
}
