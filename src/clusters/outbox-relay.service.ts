import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JOBS, OPERATION_JOB_OPTIONS, operationJobId, QUEUES, RunOperationJob } from '../queue/queues';
import { OperationsRepository } from './operations.repository';

const RELAY_PERIOD_MS = 1_000;
const BATCH = 200;

/**
 * Moves outbox rows into the queue. Enqueue first, mark dispatched second: a crash in between
 * enqueues the operation again, which the job id (= operation id) turns into a no-op.
 * `kick()` runs a pass right after a commit so a new operation starts within milliseconds; the
 * timer catches anything a kick missed (another replica's rows, a Redis hiccup).
 */
@Injectable()
export class OutboxRelay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly operations: OperationsRepository,
    @InjectQueue(QUEUES.operations) private readonly queue: Queue<RunOperationJob>,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => this.kick(), RELAY_PERIOD_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

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

  /** One full pass; resolves when the outbox is empty (or a batch failed). */
  async drain(): Promise<void> {
    for (;;) {
      const rows = await this.operations.pendingOutbox(BATCH);
      if (rows.length === 0) return;
      await this.queue.addBulk(
        rows.map((row) => ({
          name: JOBS.runOperation,
          data: { operationId: row.operationId },
          opts: { ...OPERATION_JOB_OPTIONS, jobId: operationJobId(row.operationId) },
        })),
      );
      await this.operations.markDispatched(rows.map((r) => r.id));
      if (rows.length < BATCH) return;
    }
  }
}
