import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

export interface AuditEvent {
  id: string;
  at: Date;
  actor: string;
  role: string | null;
  credentialId: string | null;
  project: string | null;
  action: string;
  method: string;
  target: string;
  status: number;
  code: string | null;
  requestId: string | null;
  /** What the path cannot say, e.g. the ttl and id of an issued kubeconfig credential. Never a secret. */
  details: Record<string, unknown> | null;
  /** The client's address. */
  source: string | null;
  /** How many requests this row stands for (more than 1 only for aggregated failed authentications). */
  occurrences: number;
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at' | 'details' | 'source' | 'occurrences'> & {
  details?: Record<string, unknown> | null;
  /** The client's address, when known. */
  source?: string | null;
  /** 1 unless the row aggregates failed authentications. */
  occurrences?: number;
};

export interface AuditFilter {
  actor: string | null;
  project: string | null;
  action: string | null;
  since: string | null;
  until: string | null;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- rows come untyped from pg; mapped right here */
const toEvent = (r: any): AuditEvent => ({
  id: String(r.id),
  at: r.at,
  actor: r.actor,
  role: r.role,
  credentialId: r.credential_id,
  project: r.project,
  action: r.action,
  method: r.method,
  target: r.target,
  status: r.status,
  code: r.code,
  requestId: r.request_id,
  details: r.details ?? null,
  source: r.source,
  occurrences: r.occurrences,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Whatever a refused request carried must still fit in the row: NUL cannot be stored in text
 * and lone surrogates are not text, so both are replaced rather than losing the row.
 */
const storable = (value: string, max: number) =>
  value.replace(/\u0000|[\ud800-\udfff]/gu, '\ufffd').slice(0, max);
const storableOrNull = (value: string | null, max: number) => (value === null ? null : storable(value, max));

const INSERT_EVENT = `INSERT INTO audit_events
  (actor, role, credential_id, project, action, method, target, status, code, request_id, source,
   occurrences, details)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;

const eventValues = (e: NewAuditEvent) => [
  storable(e.actor, 128),
  e.role,
  e.credentialId,
  storableOrNull(e.project, 63),
  storable(e.action, 96),
  storable(e.method, 8),
  storable(e.target, 2048),
  e.status,
  storableOrNull(e.code, 64),
  storableOrNull(e.requestId, 128),
  storableOrNull(e.source ?? null, 64),
  e.occurrences ?? 1,
  e.details ? JSON.stringify(e.details) : null,
];

@Injectable()
export class AuditRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Records an event outside any transaction: the middleware writes once the answer is sent,
   * when the request's own transaction (if any) is long over.
   */
  async insert(e: NewAuditEvent): Promise<void> {
    await this.uow.dataSource.query(INSERT_EVENT, eventValues(e));
  }

  /** Records an event in the caller's transaction, so it commits (or not) with the change it describes. */
  async insertWithin(e: NewAuditEvent): Promise<void> {
    await this.uow.manager.query(INSERT_EVENT, eventValues(e));
  }

  /** Newest first; keyset on the id. Fetches `limit + 1`. */
  async list(filter: AuditFilter, limit: number, beforeId: string | null): Promise<AuditEvent[]> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT * FROM audit_events
       WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR project = $2)
         AND ($3::text IS NULL OR action = $3)
         AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5)
         AND ($6::bigint IS NULL OR id < $6)
       ORDER BY id DESC LIMIT $7`,
      [filter.actor, filter.project, filter.action, filter.since, filter.until, beforeId, limit + 1],
    );
    return rows.map(toEvent);
  }
}
