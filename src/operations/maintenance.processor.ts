import { InjectQueue, OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Job, Queue } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { OutboxRelay } from '../outbox/outbox-relay.service';
import {
  JOBS,
  MAINTENANCE_JOB_OPTIONS,
  MAINTENANCE_SCHEDULERS,
  MaintenanceJobName,
  QUEUES,
  QUOTA_RECONCILE_SCHEDULER_ID,
  WORKER_LOCK_OPTIONS,
} from '../queue/queues';
import { ClusterExpiry } from '../clusters/cluster-expiry.service';
import { NodeRegistrationExpiry } from '../node-registrations/node-registration-expiry.service';
import { Sweeper } from './sweeper.service';

/** How often the outbox is relayed regardless of kicks. */
const RELAY_PERIOD_MS = 1_000;

/**
 * Runs the cluster-wide periodic tasks — the sweep, the outbox relay's catch-up pass and the expiry
 * of clusters — each
 * from one BullMQ job scheduler, so that one worker runs each period, not every worker.
 */
@Processor(QUEUES.maintenance, { concurrency: 1, ...WORKER_LOCK_OPTIONS })
export class MaintenanceProcessor extends WorkerHost implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private watchdog?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
    @InjectQueue(QUEUES.quotaReconcile) private readonly quotaQueue: Queue,
    private readonly sweeper: Sweeper,
    private readonly relay: OutboxRelay,
    private readonly expiry: ClusterExpiry,
    private readonly registrationExpiry: NodeRegistrationExpiry,
  ) {
    super();
  }

  /**
   * The one local timer left, and it is needed per process: the schedulers live in Redis, and a
   * Redis that lost its data (FLUSHALL, failover to an empty replica) cannot bring them back. Each
   * worker checks that they exist, and puts back what is missing (a sweep then runs at once).
   * It keeps every cluster-wide scheduler, the quota reconcile's (on a queue of its own, so a
   * long pass never holds up the outbox catch-up) included.
   */
  onModuleInit(): void {
    void this.ensureSchedulers();
    this.watchdog = setInterval(() => void this.ensureSchedulers(), this.config.sweepPeriodMs);
    this.watchdog.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.watchdog);
  }

  async process(job: Job<unknown, void, MaintenanceJobName>): Promise<void> {
    switch (job.name) {
      case JOBS.sweep:
        return this.sweeper.sweep();
      case JOBS.relayOutbox:
        return this.relay.pass();
      case JOBS.expireClusters:
        await this.expiry.expireDue();
        // Node registrations expire on the same period (their reservation and token go).
        await this.registrationExpiry.pass();
        return;
    }
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn({ reason: error.message }, 'queue worker error');
  }

  private async ensureSchedulers(): Promise<void> {
    try {
      await this.ensure(this.queue, MAINTENANCE_SCHEDULERS.sweep, JOBS.sweep, this.config.sweepPeriodMs);
      await this.ensure(this.queue, MAINTENANCE_SCHEDULERS.relayOutbox, JOBS.relayOutbox, RELAY_PERIOD_MS);
      // Expiry runs on the sweep's period: a cluster is deleted at most one period late.
      await this.ensure(
        this.queue,
        MAINTENANCE_SCHEDULERS.expireClusters,
        JOBS.expireClusters,
        this.config.sweepPeriodMs,
      );
      await this.ensure(
        this.quotaQueue,
        QUOTA_RECONCILE_SCHEDULER_ID,
        JOBS.reconcileQuotas,
        this.config.quotaReconcilePeriodMs,
      );
    } catch (error) {
      this.logger.warn({ err: error }, 'could not check the maintenance schedulers; will retry');
    }
  }

  /**
   * Upserts only when missing or when its period changed: an upsert also runs the task at once,
   * which a routine check must not do.
   */
  private async ensure(
    queue: Queue,
    id: string,
    name: MaintenanceJobName | typeof JOBS.reconcileQuotas,
    everyMs: number,
  ): Promise<void> {
    const existing = await queue.getJobScheduler(id);
    if (existing && Number(existing.every) === everyMs) return;
    await queue.upsertJobScheduler(id, { every: everyMs }, { name, opts: MAINTENANCE_JOB_OPTIONS });
  }
}
