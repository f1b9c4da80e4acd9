import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/auth.guard';
import { notFound } from '../common/problem';
import { AccessService } from '../projects/access.service';
import { toOperationDto } from './cluster.mapper';
import { OperationDto } from './operation.dto';
import { OperationsRepository } from '../operations/operations.repository';
import type { OperationState } from '../operations/operation.types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLL_MS = 250;

@Injectable()
export class OperationsService {
  constructor(
    private readonly operations: OperationsRepository,
    private readonly access: AccessService,
  ) {}

  /**
   * The operation, if `principal` can see its project (otherwise 404, as if it did not exist);
   * with `waitSeconds`, answers as soon as it is final or when the wait is over.
   */
  async get(id: string, principal: Principal, waitSeconds = 0): Promise<OperationDto> {
    if (!UUID.test(id)) throw notFound('operation', id);
    const deadline = Date.now() + waitSeconds * 1000;
    const first = await this.operations.findById(id);
    if (!first || !(await this.access.canSee(principal, first.projectId))) throw notFound('operation', id);
    const audience = principal.role === 'admin' ? 'admin' : 'user';
    if (waitSeconds <= 0 || first.state === 'succeeded' || first.state === 'failed')
      return toOperationDto(first, audience);
    let state: OperationState | null = first.state;
    while ((state === 'pending' || state === 'running') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())));
      state = await this.operations.stateOf(id);
    }
    const op = await this.operations.findById(id);
    if (!op) throw notFound('operation', id);
    return toOperationDto(op, audience);
  }
}
