import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

/** An `outbox` row: an operation that must be handed to the queue once its transaction commits. */
interface OutboxRow {
  id: string;
  operation_id: string;
  created_at: Date;
  dispatched_at: Date | null;
}

export interface OutboxEntry {
  id: string;
  operationId: string;
}

@Injectable()
export class OutboxRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Adds the operation to the outbox in the caller's transaction, beside the rows that record it. */
  async addInTransaction(operationId: string): Promise<void> {
    await this.uow.manager.query(`INSERT INTO outbox (operation_id) VALUES ($1)`, [operationId]);
  }

  /** Rows not yet handed to the queue, oldest first. */
  async pending(limit: number): Promise<OutboxEntry[]> {
    const rows: Array<Pick<OutboxRow, 'id' | 'operation_id'>> = await this.uow.manager.query(
      `SELECT id, operation_id FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, operationId: r.operation_id }));
  }

  async markDispatched(ids: string[]): Promise<void> {
    await this.uow.manager.query(`UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])`, [
      ids,
    ]);
  }
}
