import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/auth.guard';
import { notFound } from '../common/problem';
import { AccessService } from '../projects/access.service';
import { toOperationDto } from './cluster.mapper';
import { OperationDto } from './operation.dto';
import { OperationWaiters } from './operation-waiters.service';
import { OperationsRepository } from '../operations/operations.repository';
import type { OperationRecord, OperationState } from '../operations/operation.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isOver = (state: OperationState) => state !== 'pending' && state !== 'running';

@Injectable()
export class OperationsService {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly access: AccessService,
    private readonly waiters: OperationWaiters,
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
}
