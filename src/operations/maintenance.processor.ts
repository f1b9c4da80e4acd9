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
  WORKER_LOCK_OPTIONS,
} from '../queue/queues';
import { Sweeper } from './sweeper.service';

/** How often the outbox is relayed regardless of kicks. */
const RELAY_PERIOD_MS = 1_000;

/**
 * Runs the cluster-wide periodic tasks — the sweep and the outbox relay's catch-up pass — each
 * from one BullMQ job scheduler, so that one worker runs each period, not every worker.
 */
@Processor(QUEUES.maintenance, { concurrency: 1, ...WORKER_LOCK_OPTIONS })
export class MaintenanceProcessor extends WorkerHost implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceProcessor.name);
  private watchdog?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
    private readonly sweeper: Sweeper,
    private readonly relay: OutboxRelay,
  ) {
    super();
  }

  /**
   * The one local timer left, and it is needed per process: the schedulers live in Redis, and a
   * Redis that lost its data (FLUSHALL, failover to an empty replica) cannot bring them back. Each
   * worker checks that they exist, and puts back what is missing (a sweep then runs at once).
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
    }
  }

  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn({ reason: error.message }, 'queue worker error');
  }

  private async ensureSchedulers(): Promise<void> {
    try {
      await this.ensure(MAINTENANCE_SCHEDULERS.sweep, JOBS.sweep, this.config.sweepPeriodMs);
      await this.ensure(MAINTENANCE_SCHEDULERS.relayOutbox, JOBS.relayOutbox, RELAY_PERIOD_MS);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not check the maintenance schedulers; will retry');
    }
  }

  /**
   * Upserts only when missing or when its period changed: an upsert also runs the task at once,
   * which a routine check must not do.
   */
  private async ensure(id: string, name: MaintenanceJobName, everyMs: number): Promise<void> {
    const existing = await this.queue.getJobScheduler(id);
    if (existing && Number(existing.every) === everyMs) return;
    await this.queue.upsertJobScheduler(id, { every: everyMs }, { name, opts: MAINTENANCE_JOB_OPTIONS });
  }
}
