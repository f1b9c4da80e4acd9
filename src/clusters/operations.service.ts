import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { timeout, TimeoutStrategy } from 'cockatiel';
import { operationJobId, QUEUES } from '../queue/queues';
import type { Principal } from '../common/auth.guard';
import { conflict, notFound } from '../common/problem';
import { CLUSTER_OPERATIONS } from './cluster-operations';
import type { OperationDeclaration } from '../operations/operation-declaration';
import { AccessService } from '../projects/access.service';
import { toOperationDto } from './cluster.mapper';
import { OperationDto } from './operation.dto';
import { OperationWaiters } from './operation-waiters.service';
import { OperationsRepository } from '../operations/operations.repository';
import type { OperationRecord, OperationState } from '../operations/operation.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isOver = (state: OperationState) => state !== 'pending' && state !== 'running';
/** How long a cancel's answer waits, at most, for the runner's job to be moved to the front. */
const WAKE_TIMEOUT = timeout(500, TimeoutStrategy.Aggressive);

@Injectable()
export class OperationsService {
  private readonly logger = new Logger(OperationsService.name);

  constructor(
    private readonly operations: OperationsRepository,
    private readonly access: AccessService,
    private readonly waiters: OperationWaiters,
    @InjectQueue(QUEUES.operations) private readonly queue: Queue,
  ) {}

  /**
   * The operation, if `principal` can see its project (otherwise 404, as if it did not exist);
   * with `waitSeconds`, answers as soon as it is over or when the wait is over. A wait costs no
   * query until the operation changes (see OperationWaiters), and stops when `clientGone` fires.
   */
  async get(
    id: string,
    principal: Principal,
    waitSeconds = 0,
    clientGone?: AbortSignal,
  ): Promise<OperationDto> {
    if (!UUID.test(id)) throw notFound('operation', id);
    const deadline = Date.now() + waitSeconds * 1000;
    // The watch is taken before the first read, so a change right after it is not missed.
    const watch = waitSeconds > 0 ? this.waiters.watch(id, clientGone) : null;
    try {
      const first = await this.operations.findById(id);
      if (!first || !(await this.access.canSee(principal, first.projectId))) throw notFound('operation', id);
      const audience = principal.role === 'admin' ? 'admin' : 'user';
      if (!watch || isOver(first.state)) return toOperationDto(first, audience);
      const release = this.waiters.acquire(principal.credentialId);
      try {
        let op: OperationRecord | null = first;
        while (op && !isOver(op.state) && Date.now() < deadline && !clientGone?.aborted) {
          await watch.next(deadline - Date.now());
          if (clientGone?.aborted) break;
          op = await this.waiters.read(id);
        }
        if (!op) throw notFound('operation', id);
        return toOperationDto(op, audience);
      } finally {
        release();
      }
    } finally {
      watch?.close();
    }
  }

  /**
   * Asks the runner to stop the operation at its next step boundary (see OperationRunner): 202
   * with the operation as it stands. Asking again is harmless, also once it has ended
   * `cancelled`. An operation whose type cannot be cancelled (deletes), one already over, or one
   * already undoing a failure is a 409; an accepted cancel always ends the operation `cancelled`.
   */
  async cancel(id: string, principal: Principal): Promise<OperationDto> {
    if (!UUID.test(id)) throw notFound('operation', id);
    const op = await this.operations.findById(id);
    if (!op || !(await this.access.canSee(principal, op.projectId))) throw notFound('operation', id);
    const declaration: OperationDeclaration = CLUSTER_OPERATIONS[op.type];
    if (!declaration.cancel) {
      throw conflict('NOT_CANCELLABLE', `a ${op.type} operation cannot be cancelled`, { operationId: id });
    }
    const audience = principal.role === 'admin' ? 'admin' : 'user';
    if (op.state !== 'cancelled' && !(await this.operations.requestCancel(id, principal.subject))) {
      const now = await this.operations.findById(id);
      if (now?.state !== 'cancelled') {
        throw now && !isOver(now.state)
          ? conflict('NOT_CANCELLABLE', 'the operation failed and is already undoing what it made', {
              operationId: id,
            })
          : conflict('OPERATION_FINISHED', `the operation already ended ${now?.state ?? 'gone'}`, {
              operationId: id,
              state: now?.state ?? null,
            });
      }
    }
    await this.wakeRunner(id);
    const current = await this.operations.findById(id);
    if (!current) throw notFound('operation', id);
    return toOperationDto(current, audience);
  }

  /**
   * A runner waiting out a poll or a retry backoff sits in the delayed set; moving the job to the
   * front lets it act on the cancel now rather than when its delay ends. Best effort: if Redis
   * does not answer, the cancel still takes effect, later.
   */
  private async wakeRunner(id: string): Promise<void> {
    // BullMQ's connection waits for Redis rather than fail; the answer does not wait with it.
    await WAKE_TIMEOUT.execute(() => this.promoteIfDelayed(id)).catch(() => undefined);
  }

  private async promoteIfDelayed(id: string): Promise<void> {
    try {
      const job = await this.queue.getJob(operationJobId(id));
      if (job && (await job.isDelayed())) await job.promote();
    } catch (error) {
      // A job promoted or picked up in between is as good as promoted.
      this.logger.debug({ operationId: id, reason: (error as Error).message }, 'could not promote the job');
    }
  }
}
