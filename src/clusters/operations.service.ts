import { Injectable } from '@nestjs/common';
import { notFound } from '../common/problem';
import { toOperationDto } from './cluster.mapper';
import { OperationDto } from './operation.dto';
import { OperationsRepository } from './operations.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POLL_MS = 250;

@Injectable()
export class OperationsService {
  constructor(private readonly operations: OperationsRepository) {}

  /** The operation; with `waitSeconds`, answers as soon as it is final or when the wait is over. */
  async get(id: string, waitSeconds = 0): Promise<OperationDto> {
    if (!UUID.test(id)) throw notFound('operation', id);
    const deadline = Date.now() + waitSeconds * 1000;
    let state = await this.operations.stateOf(id);
    if (state === null) throw notFound('operation', id);
    while ((state === 'pending' || state === 'running') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())));
      state = await this.operations.stateOf(id);
    }
    const op = await this.operations.findById(id);
    if (!op) throw notFound('operation', id);
    return toOperationDto(op);
  }
}
