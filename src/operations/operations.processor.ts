import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger, OnModuleInit } from '@nestjs/common';
import { DelayedError, Job } from 'bullmq';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { QUEUES, RunOperationJob, WORKER_LOCK_OPTIONS } from '../queue/queues';
import { OperationRunner } from './operation-runner.service';

/**
 * Thin: hands the operation id to the runner. When the runner has to wait (a retry backoff, a
 * poll), the same job is moved back to the delayed set, so the job id stays the operation id and
 * no worker slot is held while Rancher works.
 */
@Processor(QUEUES.operations, { ...WORKER_LOCK_OPTIONS })
export class OperationsProcessor extends WorkerHost implements OnModuleInit {
  private readonly logger = new Logger(OperationsProcessor.name);

  constructor(
    private readonly runner: OperationRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  onModuleInit(): void {
    this.worker.concurrency = this.config.workerConcurrency;
  }

  async process(job: Job<RunOperationJob>, token?: string): Promise<void> {
    const outcome = await this.runner.run(job.data.operationId);
    if (outcome.kind === 'wait') {
      await job.moveToDelayed(Date.now() + outcome.delayMs, token);
      throw new DelayedError();
    }
  }

  /** An unexpected error (not a step failure: those are persisted). The job retries, then the sweeper takes over. */
  @OnWorkerEvent('failed')
  onFailed(job: Job<RunOperationJob> | undefined, error: Error): void {
    this.logger.error(
      { err: error, operationId: job?.data.operationId, attempt: job?.attemptsMade },
      'operation job failed',
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
