import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { IdempotencyKeysRepository } from '../common/idempotency-keys.repository';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { BackendsService } from '../rancher-backends/backends.service';
import {
  JOBS,
  OPERATION_JOB_OPTIONS,
  operationJobId,
  ProbeBackendJob,
  probeSchedulerId,
  QUEUES,
  RunOperationJob,
  SYNC_JOB_OPTIONS,
  SyncBackendJob,
  syncSchedulerId,
} from '../queue/queues';
import { OperationsRepository } from './operations.repository';

/**
 * Rebuilds the queue from Postgres: every unfinished operation gets its job back if Redis lost it
 * (FLUSHALL, failover) or the job gave up, and every backend keeps its sync and probe schedules.
 * Also re-seals backend tokens after an encryption key rotation and forgets expired idempotency
 * keys. Run by a cluster-wide job scheduler (`MaintenanceProcessor`); all it does is idempotent.
 */
@Injectable()
export class Sweeper {
  private readonly logger = new Logger(Sweeper.name);
  private running: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly operations: OperationsRepository,
    private readonly backends: BackendsRepository,
    private readonly backendsService: BackendsService,
    private readonly idempotencyKeys: IdempotencyKeysRepository,
    @InjectQueue(QUEUES.operations) private readonly operationsQueue: Queue<RunOperationJob>,
    @InjectQueue(QUEUES.statusSync) private readonly syncQueue: Queue<SyncBackendJob>,
    @InjectQueue(QUEUES.backendProbes) private readonly probeQueue: Queue<ProbeBackendJob>,
  ) {}

  /** One sweep (or the one already running in this process). Never throws. */
  sweep(): Promise<void> {
    this.running ??= this.sweepOnce()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'sweep failed; will retry'))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async sweepOnce(): Promise<void> {
    let requeued = 0;
    for (const id of await this.operations.unfinishedIds()) {
      const job = await this.operationsQueue.getJob(operationJobId(id));
      if (job) continue;
      await this.operationsQueue.add(
        JOBS.runOperation,
        { operationId: id },
        { ...OPERATION_JOB_OPTIONS, jobId: operationJobId(id) },
      );
      requeued += 1;
    }
    if (requeued > 0) this.logger.log(`re-enqueued ${requeued} unfinished operation(s) from Postgres`);

    const backends = await this.backends.listAll();
    await this.keepSchedules(
      this.syncQueue,
      backends,
      syncSchedulerId,
      JOBS.syncBackend,
      this.config.syncPeriodMs,
    );
    await this.keepSchedules(
      this.probeQueue,
      backends,
      probeSchedulerId,
      JOBS.probeBackend,
      this.config.probePeriodMs,
    );
    const resealed = await this.backendsService.resealTokens();
    if (resealed > 0)
      this.logger.log(`re-sealed ${resealed} backend token(s) under the current encryption key`);
    await this.idempotencyKeys.deleteExpired();
  }

  /** One job scheduler per backend on `queue`; schedulers of removed backends go away. */
  private async keepSchedules(
    queue: Queue<{ backendId: string }>,
    backends: Array<{ id: string }>,
    schedulerId: (backendId: string) => string,
    jobName: string,
    everyMs: number,
  ): Promise<void> {
    const wanted = new Set(backends.map((b) => schedulerId(b.id)));
    for (const backend of backends) {
      if (await queue.getJobScheduler(schedulerId(backend.id))) continue;
      await queue.upsertJobScheduler(
        schedulerId(backend.id),
        { every: everyMs },
        { name: jobName, data: { backendId: backend.id }, opts: SYNC_JOB_OPTIONS },
      );
    }
    for (const scheduler of await queue.getJobSchedulers()) {
      if (scheduler.key && !wanted.has(scheduler.key)) await queue.removeJobScheduler(scheduler.key);
    }
  }
}
