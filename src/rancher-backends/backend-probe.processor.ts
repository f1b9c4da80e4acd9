import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { ProbeBackendJob, QUEUES, WORKER_LOCK_OPTIONS } from '../queue/queues';
import { BackendHealthService } from './backend-health.service';

/** Thin: one probe per scheduled job (a per-backend job scheduler, kept by the sweeper). */
@Processor(QUEUES.backendProbes, { concurrency: 8, ...WORKER_LOCK_OPTIONS })
export class BackendProbeProcessor extends WorkerHost {
  private readonly logger = new Logger(BackendProbeProcessor.name);

  constructor(private readonly health: BackendHealthService) {
    super();
  }

  async process(job: Job<ProbeBackendJob>): Promise<void> {
    await this.health.probe(job.data.backendId);
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
