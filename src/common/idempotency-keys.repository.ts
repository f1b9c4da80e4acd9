import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

/** The stored answers of `Idempotency-Key` requests, as far as housekeeping is concerned. */
@Injectable()
export class IdempotencyKeysRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Forgets keys past their expiry; returns how many. */
  async deleteExpired(): Promise<number> {
    const [, count]: [unknown[], number] = await this.uow.manager.query(
      `DELETE FROM idempotency_keys WHERE expires_at < now()`,
    );
    return count;
  }
}
