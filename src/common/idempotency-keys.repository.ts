import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { UnitOfWork } from '../database/unit-of-work';

/** One row of `idempotency_keys`, as Postgres returns it. */
export interface IdempotencyKeyRow {
  credential_id: string;
  key: string;
  method: string;
  path: string;
  request_hash: string;
  /** 0 while the first request holding the key is still running. */
  status_code: number;
  response_body: unknown;
  location: string | null;
  created_at: Date;
  expires_at: Date;
}

export type StoredAnswer = Pick<
  IdempotencyKeyRow,
  'request_hash' | 'status_code' | 'response_body' | 'location'
>;

const RETENTION_HOURS = 24;

/**
 * The idempotency keys. Every method takes the transaction it must run in: the key is claimed,
 * and its answer stored, in the same transaction as the request's own writes.
 */
@Injectable()
export class IdempotencyKeysRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Forgets keys past their expiry (housekeeping, outside any request); returns how many. */
  async deleteExpired(): Promise<number> {
    const [, count]: [unknown[], number] = await this.uow.manager.query(
      `DELETE FROM idempotency_keys WHERE expires_at < now()`,
    );
    return count;
  }

  /** Inserts the key as running; false when another request already holds it. */
  async claimInTransaction(
    tx: EntityManager,
    claim: { credentialId: string; key: string; method: string; path: string; requestHash: string },
  ): Promise<boolean> {
    const inserted: Array<Pick<IdempotencyKeyRow, 'key'>> = await tx.query(
      `INSERT INTO idempotency_keys (credential_id, key, method, path, request_hash, status_code, expires_at)
       VALUES ($1, $2, $3, $4, $5, 0, now() + make_interval(hours => $6))
       ON CONFLICT (credential_id, key) DO NOTHING RETURNING key`,
      [claim.credentialId, claim.key, claim.method, claim.path, claim.requestHash, RETENTION_HOURS],
    );
    return inserted.length > 0;
  }

  /**
   * The stored answer, locked: a duplicate that arrives while the first request runs blocks here
   * until it commits. Null when the first request rolled back meanwhile.
   */
  async lockStoredInTransaction(
    tx: EntityManager,
    credentialId: string,
    key: string,
  ): Promise<StoredAnswer | null> {
    const [stored]: StoredAnswer[] = await tx.query(
      `SELECT request_hash, status_code, response_body, location FROM idempotency_keys
       WHERE credential_id = $1 AND key = $2 FOR UPDATE`,
      [credentialId, key],
    );
    return stored ?? null;
  }

  async storeAnswerInTransaction(
    tx: EntityManager,
    credentialId: string,
    key: string,
    answer: { status: number; body: unknown; location: string | null },
  ): Promise<void> {
    await tx.query(
      `UPDATE idempotency_keys SET status_code = $3, response_body = $4, location = $5
       WHERE credential_id = $1 AND key = $2`,
      [
        credentialId,
        key,
        answer.status,
        answer.body === undefined ? null : JSON.stringify(answer.body),
        answer.location,
      ],
    );
  }
}
