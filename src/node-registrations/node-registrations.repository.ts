import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { CloseReason, NodeRegistrationRecord, NodeTaint } from './node-registration.types';

/* eslint-disable @typescript-eslint/no-explicit-any -- rows come untyped from pg; mapped right here */
const toRecord = (r: any): NodeRegistrationRecord => ({
  id: r.id,
  projectId: r.project_id,
  clusterId: r.cluster_id,
  count: r.count,
  joined: r.joined,
  released: r.released,
  labels: r.labels,
  taints: r.taints,
  tokenRef: r.token_ref,
  expiresAt: r.expires_at,
  closedAt: r.closed_at,
  closeReason: r.close_reason,
  createdAt: r.created_at,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

/** `UPDATE … RETURNING` answers `[rows, count]` through the query runner. */
const returned = <T>(result: unknown): T[] =>
  Array.isArray(result) && Array.isArray(result[0]) ? result[0] : [];

/** A registered node that no open registration counts (the sync reports it as drift). */
export interface UncountedNode {
  clusterId: string;
  rancherId: string;
  hostname: string;
}

/**
 * The `node_registrations` rows and their members (the nodes each counted). Every
 * method that moves quota locks the registration rows first, then the members, then (through the
 * caller) the project's quota row: the one order every transaction takes them in.
 */
@Injectable()
export class NodeRegistrationsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  async insert(r: {
    id: string;
    projectId: string;
    clusterId: string;
    count: number;
    labels: Record<string, string>;
    taints: NodeTaint[];
    expiresAt: Date;
    createdBy: string | null;
  }): Promise<void> {
    await this.uow.manager.query(
      `INSERT INTO node_registrations (id, project_id, cluster_id, count, labels, taints, expires_at, created_by)
       VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8)`,
      [
        r.id,
        r.projectId,
        r.clusterId,
        r.count,
        JSON.stringify(r.labels),
        JSON.stringify(r.taints),
        r.expiresAt,
        r.createdBy,
      ],
    );
  }

  async setTokenRef(id: string, tokenRef: string): Promise<void> {
    await this.uow.manager.query(`UPDATE node_registrations SET token_ref = $2 WHERE id = $1`, [
      id,
      tokenRef,
    ]);
  }

  async find(clusterId: string, id: string, lock = false): Promise<NodeRegistrationRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT * FROM node_registrations WHERE id = $1 AND cluster_id = $2 ${lock ? 'FOR UPDATE' : ''}`,
      [id, clusterId],
    );
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /** Newest first; keyset on (created_at, id). Fetches `limit + 1`. */
  async list(
    clusterId: string,
    limit: number,
    after: { createdAt: string; id: string } | null,
  ): Promise<NodeRegistrationRecord[]> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT * FROM node_registrations
       WHERE cluster_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [clusterId, after?.createdAt ?? null, after?.id ?? null, limit + 1],
    );
    return rows.map(toRecord);
  }

  /**
   * Closes open registrations (one, or every one of a cluster); answers what each still held in
   * reservation (its unused slots), per project, for the caller to give back.
   */
  async close(
    where: { id: string } | { clusterId: string },
    reason: CloseReason,
  ): Promise<Array<{ projectId: string; unused: number }>> {
    const byId = 'id' in where;
    const result: unknown = await this.uow.manager.query(
      `UPDATE node_registrations SET closed_at = now(), close_reason = $2
       WHERE ${byId ? 'id' : 'cluster_id'} = $1 AND closed_at IS NULL
       RETURNING project_id, count - joined - released AS unused`,
      [byId ? where.id : where.clusterId, reason],
    );
    return returned<{ project_id: string; unused: number }>(result).map((r) => ({
      projectId: r.project_id,
      unused: Number(r.unused),
    }));
  }

  /** Open registrations whose time is up. */
  async dueIds(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.uow.manager.query(
      `SELECT id FROM node_registrations WHERE closed_at IS NULL AND expires_at <= now() ORDER BY expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Locks one open registration that is due, or answers null (closed meanwhile, or extended). */
  async lockDue(id: string): Promise<NodeRegistrationRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT * FROM node_registrations WHERE id = $1 AND closed_at IS NULL AND expires_at <= now() FOR UPDATE`,
      [id],
    );
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  /** Closed registrations whose backend token may still exist, with their cluster's backend. */
  async tokensToRemove(limit: number): Promise<Array<{ id: string; tokenRef: string; backendId: string }>> {
    const rows: Array<{ id: string; token_ref: string; backend_id: string }> = await this.uow.manager.query(
      `SELECT r.id, r.token_ref, c.backend_id FROM node_registrations r JOIN clusters c ON c.id = r.cluster_id
       WHERE r.closed_at IS NOT NULL AND r.token_removed_at IS NULL AND r.token_ref IS NOT NULL
       ORDER BY r.closed_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, tokenRef: r.token_ref, backendId: r.backend_id }));
  }

  async markTokenRemoved(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.uow.manager.query(
      `UPDATE node_registrations SET token_removed_at = now() WHERE id = ANY($1::uuid[])`,
      [ids],
    );
  }

  /** A cluster that goes away takes its tokens with it: nothing is left to remove. */
  async markClusterTokensRemoved(clusterId: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE node_registrations SET token_removed_at = now() WHERE cluster_id = $1 AND token_removed_at IS NULL`,
      [clusterId],
    );
  }

  /**
   * Releases counted nodes: those of the backend's clusters that `seen` does not hold (gone from
   * the backend), the one node `rancherId`, or every node of a cluster that is going away. Each
   * frees its slot (`joined - 1`, `released + 1`) and is never counted again; answers how many per
   * project, for the caller to free from usage.
   */
  async uncount(
    where: { backendId: string; seen: string[] } | { rancherId: string } | { clusterId: string },
  ): Promise<Array<{ projectId: string; nodes: number }>> {
    const [match, params] =
      'rancherId' in where
        ? [`m.rancher_id = $1`, [where.rancherId]]
        : 'clusterId' in where
          ? [`r.cluster_id = $1`, [where.clusterId]]
          : [
              `r.cluster_id IN (SELECT id FROM clusters WHERE backend_id = $1) AND NOT (m.rancher_id = ANY($2::text[]))`,
              [where.backendId, where.seen],
            ];
    const members = `SELECT m.rancher_id FROM node_registration_members m JOIN node_registrations r ON r.id = m.registration_id
       WHERE m.state = 'counted' AND ${match}`;
    // Registration rows first (the lock order), then the members.
    await this.uow.manager.query(
      `SELECT r.id FROM node_registrations r JOIN node_registration_members m ON m.registration_id = r.id
       WHERE m.state = 'counted' AND ${match} ORDER BY r.id FOR UPDATE OF r`,
      params,
    );
    const result: unknown = await this.uow.manager.query(
      `WITH gone AS (
         UPDATE node_registration_members SET state = 'released', changed_at = now()
         WHERE state = 'counted' AND rancher_id IN (${members}) RETURNING registration_id
       ), tally AS (
         SELECT registration_id, count(*)::int AS k FROM gone GROUP BY registration_id
       )
       UPDATE node_registrations r SET joined = r.joined - t.k, released = r.released + t.k
       FROM tally t WHERE r.id = t.registration_id
       RETURNING r.project_id, t.k`,
      params,
    );
    return tallyByProject(returned<{ project_id: string; k: number }>(result));
  }

  /**
   * Counts the backend's registered nodes that were never counted into their registration while
   * it is open and has a free slot (the earliest seen first); answers how many per project.
   */
  async countJoined(backendId: string): Promise<Array<{ projectId: string; nodes: number }>> {
    const candidates = `SELECT n.rancher_id, n.registration_id, n.first_seen_at, n.hostname FROM nodes n
       JOIN clusters c ON c.id = n.cluster_id
       WHERE c.backend_id = $1 AND n.registration_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM node_registration_members m WHERE m.rancher_id = n.rancher_id)`;
    const open: Array<{ id: string; project_id: string; free: number }> = await this.uow.manager.query(
      `SELECT r.id, r.project_id, r.count - r.joined - r.released AS free FROM node_registrations r
       WHERE r.closed_at IS NULL AND r.id IN (SELECT registration_id FROM (${candidates}) x)
       ORDER BY r.id FOR UPDATE OF r`,
      [backendId],
    );
    const counted: Array<{ project_id: string; k: number }> = [];
    for (const registration of open) {
      if (Number(registration.free) <= 0) continue;
      const result: unknown = await this.uow.manager.query(
        `WITH picked AS (
           INSERT INTO node_registration_members (rancher_id, registration_id, state)
           SELECT x.rancher_id, x.registration_id, 'counted' FROM (${candidates}) x
           WHERE x.registration_id = $2 ORDER BY x.first_seen_at, x.hostname LIMIT $3
           ON CONFLICT (rancher_id) DO NOTHING
           RETURNING rancher_id
         )
         UPDATE node_registrations SET joined = joined + (SELECT count(*) FROM picked)
         WHERE id = $2 RETURNING (SELECT count(*) FROM picked)::int AS k`,
        [backendId, registration.id, registration.free],
      );
      const k = returned<{ k: number }>(result)[0]?.k ?? 0;
      if (k > 0) counted.push({ project_id: registration.project_id, k });
    }
    return tallyByProject(counted);
  }

  /**
   * Registered nodes of the backend's live clusters that no registration ever counted: drift
   * (joined beyond the count, after the registration closed, or naming none of the cluster's).
   */
  async uncounted(backendId: string): Promise<UncountedNode[]> {
    const rows: Array<{ cluster_id: string; rancher_id: string; hostname: string }> =
      await this.uow.manager.query(
        `SELECT n.cluster_id, n.rancher_id, n.hostname FROM nodes n JOIN clusters c ON c.id = n.cluster_id
       WHERE c.backend_id = $1 AND c.state NOT IN ('deleted', 'failed', 'deleting') AND n.source = 'registered'
         AND NOT EXISTS (SELECT 1 FROM node_registration_members m WHERE m.rancher_id = n.rancher_id)
       ORDER BY n.rancher_id`,
        [backendId],
      );
    return rows.map((r) => ({ clusterId: r.cluster_id, rancherId: r.rancher_id, hostname: r.hostname }));
  }
}

function tallyByProject(
  rows: Array<{ project_id: string; k: number }>,
): Array<{ projectId: string; nodes: number }> {
  const byProject = new Map<string, number>();
  for (const r of rows) byProject.set(r.project_id, (byProject.get(r.project_id) ?? 0) + Number(r.k));
  return [...byProject].map(([projectId, nodes]) => ({ projectId, nodes }));
}
