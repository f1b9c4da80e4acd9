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
}

export type NewAuditEvent = Omit<AuditEvent, 'id' | 'at' | 'details'> & {
  details?: Record<string, unknown> | null;
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
});
/* eslint-enable @typescript-eslint/no-explicit-any */

const INSERT_EVENT = `INSERT INTO audit_events
  (actor, role, credential_id, project, action, method, target, status, code, request_id, details)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

const eventValues = (e: NewAuditEvent) => [
  e.actor.slice(0, 128),
  e.role,
  e.credentialId,
  e.project?.slice(0, 63) ?? null,
  e.action.slice(0, 96),
  e.method,
  e.target.slice(0, 2048),
  e.status,
  e.code?.slice(0, 64) ?? null,
  e.requestId?.slice(0, 128) ?? null,
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
