import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { TokenRole } from './token.dto';

export interface TokenRecord {
  id: string;
  subject: string;
  role: TokenRole;
  projectId: string | null;
  projectName: string | null;
  prefix: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

/** A token as the guard sees it, with whether its subject is a member of the project the request names. */
export interface TokenLookup extends TokenRecord {
  memberOfTarget: boolean;
}

export interface NewToken {
  hash: string;
  prefix: string;
  subject: string;
  role: TokenRole;
  projectId: string | null;
  createdBy: string;
  expiresAt: Date | null;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- rows come untyped from pg; mapped right here */
const toToken = (r: any): TokenRecord => ({
  id: r.id,
  subject: r.subject,
  role: r.role,
  projectId: r.project_id,
  projectName: r.project_name,
  prefix: r.prefix,
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

const SELECT_TOKEN = `SELECT t.*, p.name AS project_name FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id`;

@Injectable()
export class TokensRepository {
  constructor(private readonly uow: UnitOfWork) {}

  async insert(t: NewToken): Promise<TokenRecord> {
    const rows: Array<{ id: string }> = await this.uow.manager.query(
      `INSERT INTO api_tokens (token_hash, prefix, subject, role, project_id, created_by, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [t.hash, t.prefix, t.subject, t.role, t.projectId, t.createdBy, t.expiresAt],
    );
    const created = await this.findById(rows[0].id);
    if (!created) throw new Error(`token ${rows[0].id} vanished right after its insert`);
    return created;
  }

  async findById(id: string): Promise<TokenRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(`${SELECT_TOKEN} WHERE t.id = $1`, [id]);
    return rows.length > 0 ? toToken(rows[0]) : null;
  }

  /**
   * The one query per authenticated request: the token by its digest (unique index), and for a
   * member token whether its subject belongs to `projectName` (primary-key look-up).
   */
  async lookup(hash: string, projectName: string | null): Promise<TokenLookup | null> {
    const rows: Array<Record<string, unknown>> = await this.uow.manager.query(
      `SELECT t.*, p.name AS project_name,
         (t.role = 'member' AND $2::text IS NOT NULL AND EXISTS (
           SELECT 1 FROM project_members m JOIN projects mp ON mp.id = m.project_id
           WHERE mp.name = $2 AND m.subject = t.subject)) AS member_of_target
       FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id
       WHERE t.token_hash = $1`,
      [hash, projectName],
    );
    return rows.length > 0
      ? { ...toToken(rows[0]), memberOfTarget: rows[0].member_of_target === true }
      : null;
  }

  /** Keyset page ordered by creation; fetches `limit + 1`. */
  async list(
    subject: string | null,
    limit: number,
    after: { createdAt: string; id: string } | null,
  ): Promise<TokenRecord[]> {
    const rows: unknown[] = await this.uow.manager.query(
      `${SELECT_TOKEN}
       WHERE ($1::text IS NULL OR t.subject = $1)
         AND ($2::timestamptz IS NULL OR (t.created_at, t.id) > ($2::timestamptz, $3::uuid))
       ORDER BY t.created_at, t.id LIMIT $4`,
      [subject, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    return rows.map(toToken);
  }

  /** Marks the token revoked (keeping the first revocation time); false when there is no such token. */
  async revoke(id: string): Promise<boolean> {
    const [, count]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1`,
      [id],
    );
    return count > 0;
  }
}
