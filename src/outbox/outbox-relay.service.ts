import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JOBS, OPERATION_JOB_OPTIONS, operationJobId, QUEUES, RunOperationJob } from '../queue/queues';
import { OutboxRepository } from './outbox.repository';

const BATCH = 200;

/**
 * Moves outbox rows into the operations queue. Enqueue first, mark dispatched second: a crash in
 * between enqueues the operation again, which the job id (= operation id) turns into a no-op.
 * `kick()` runs a pass in this process right after a commit, so a new operation starts within
 * milliseconds; a cluster-wide job scheduler (see `MaintenanceProcessor`) calls `drain()` every
 * second for anything a kick missed (`pass()`: another replica's rows, a Redis hiccup at commit).
 */
@Injectable()
export class OutboxRelay implements OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly outbox: OutboxRepository,
    @InjectQueue(QUEUES.operations) private readonly queue: Queue<RunOperationJob>,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.running;
  }

  /** Starts a pass unless one is running (then one more follows it). Never throws. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'outbox relay pass failed; will retry'))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Runs a pass (or joins the one running) and resolves when it is over. */
  async pass(): Promise<void> {
    this.kick();
    await this.running;
  }

  /** One full pass; resolves when the outbox is empty (or a batch failed). */
  private async drain(): Promise<void> {
    for (;;) {
      const rows = await this.outbox.pending(BATCH);
      if (rows.length === 0) return;
      await this.queue.addBulk(
        rows.map((row) => ({
          name: JOBS.runOperation,
          data: { operationId: row.operationId },
          opts: { ...OPERATION_JOB_OPTIONS, jobId: operationJobId(row.operationId) },
        })),
      );
      await this.outbox.markDispatched(rows.map((r) => r.id));
      if (rows.length < BATCH) return;
    }
  }
}
