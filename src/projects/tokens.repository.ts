import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { TokenRole } from './token.dto';

/** `api`: an API token for `/v1` (and the Kubernetes proxy); `kubeconfig`: a `pdk_kc_` credential. */
export type TokenKind = 'api' | 'kubeconfig';

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

/** A row of the admin list: API tokens and kubeconfig credentials side by side. */
export interface ListedToken extends TokenRecord {
  kind: TokenKind;
  /** The cluster a kubeconfig credential is bound to (null for an API token). */
  clusterId: string | null;
  clusterName: string | null;
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
const toListedToken = (r: any): ListedToken => ({
  ...toToken(r),
  kind: r.kind,
  clusterId: r.cluster_id,
  clusterName: r.cluster_name,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * API tokens and kubeconfig credentials (their own table, see the KubeconfigCredentials
 * migration) as one list. A kubeconfig credential is created by its own subject and belongs to
 * its cluster's project.
 */
const LISTED_TOKENS = `
  SELECT t.id, 'api' AS kind, t.subject, t.role, t.project_id, p.name AS project_name,
    NULL::uuid AS cluster_id, NULL AS cluster_name, t.prefix, t.created_by, t.created_at, t.expires_at, t.revoked_at
  FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id
  UNION ALL
  SELECT k.id, 'kubeconfig', k.subject, k.role, c.project_id, p.name,
    k.cluster_id, c.name, k.prefix, k.subject, k.created_at, k.expires_at, k.revoked_at
  FROM kubeconfig_credentials k JOIN clusters c ON c.id = k.cluster_id JOIN projects p ON p.id = c.project_id`;

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

  /** Keyset page ordered by creation, API tokens and kubeconfig credentials together; fetches `limit + 1`. */
  async list(
    subject: string | null,
    limit: number,
    after: { createdAt: string; id: string } | null,
  ): Promise<ListedToken[]> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT * FROM (${LISTED_TOKENS}) t
       WHERE ($1::text IS NULL OR t.subject = $1)
         AND ($2::timestamptz IS NULL OR (t.created_at, t.id) > ($2::timestamptz, $3::uuid))
       ORDER BY t.created_at, t.id LIMIT $4`,
      [subject, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    return rows.map(toListedToken);
  }

  /**
   * Marks the API token or kubeconfig credential revoked (keeping the first revocation time);
   * false when there is no such token.
   */
  async revoke(id: string): Promise<boolean> {
    const rows: Array<{ count: number }> = await this.uow.manager.query(
      `WITH api AS (
         UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id),
       kubeconfig AS (
         UPDATE kubeconfig_credentials SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id)
       SELECT (SELECT count(*) FROM api)::int + (SELECT count(*) FROM kubeconfig)::int AS count`,
      [id],
    );
    return rows[0].count > 0;
  }
}
