import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { ProbeBackendJob, QUEUES, WORKER_LOCK_OPTIONS } from '../queue/queues';
import { BackendHealthService } from './backend-health.service';

/** Thin: one probe per scheduled job (a per-backend job scheduler, kept by the sweeper). */
@Processor(QUEUES.backendProbes, { concurrency: 8, ...WORKER_LOCK_OPTIONS })
export class BackendProbeProcessor extends WorkerHost {
  constructor(private readonly health: BackendHealthService) {
    super();
  }

  async process(job: Job<ProbeBackendJob>): Promise<void> {
    await this.health.probe(job.data.backendId);
  }
}
