import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

export type QuotaResource = 'clusters' | 'nodes';
export const QUOTA_RESOURCES: QuotaResource[] = ['clusters', 'nodes'];

export interface QuotaCounters {
  limit: number;
  used: number;
  reserved: number;
}

export interface QuotaRecord {
  projectId: string;
  projectName: string;
  clusters: QuotaCounters;
  nodes: QuotaCounters;
  /** The longest a cluster of the project may live (seconds); null: no maximum. */
  maxClusterLifetimeSeconds: number | null;
  updatedAt: Date;
}

/** Usage as the cluster tables say it is (see `TRUTH_SQL`). */
export interface QuotaTruth {
  projectId: string;
  clusters: { used: number; reserved: number };
  nodes: { used: number; reserved: number };
}

export interface QuotaAmount {
  clusters: number;
  nodes: number;
}

/** Changes to the counters, each clamped at zero (a drifted counter never blocks an operation's end). */
export interface QuotaDelta {
  clustersUsed?: number;
  clustersReserved?: number;
  nodesUsed?: number;
  nodesReserved?: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- rows come untyped from pg; mapped right here */
const toQuota = (r: any): QuotaRecord => ({
  projectId: r.project_id,
  projectName: r.project_name,
  clusters: { limit: r.clusters_limit, used: r.clusters_used, reserved: r.clusters_reserved },
  nodes: { limit: r.nodes_limit, used: r.nodes_used, reserved: r.nodes_reserved },
  maxClusterLifetimeSeconds: r.max_cluster_lifetime_seconds ?? null,
  updatedAt: r.updated_at,
});
const toTruth = (r: any): QuotaTruth => ({
  projectId: r.project_id,
  clusters: { used: Number(r.clusters_used), reserved: Number(r.clusters_reserved) },
  nodes: { used: Number(r.nodes_used), reserved: Number(r.nodes_reserved) },
});
/* eslint-enable @typescript-eslint/no-explicit-any */

const SELECT_QUOTA = `SELECT q.*, p.name AS project_name FROM project_quotas q JOIN projects p ON p.id = q.project_id`;

/**
 * Usage recomputed from the cluster tables, per project. A live cluster counts as used, or as
 * reserved while its create operation is in flight; a live pool's quantity counts as used, or as
 * reserved while the create or add-pool operation that makes it is in flight; a pool being scaled
 * counts its previous quantity as used and any growth as reserved (a shrink is released when done).
 * A node registration of a live cluster counts its joined nodes as used and, while open, its
 * unused slots as reserved (node-registration-ledger.service.ts).
 * `$1` narrows to some projects (null = all).
 */
const TRUTH_SQL = `
  WITH live AS (
    SELECT c.id, c.project_id, o.type AS op_type, o.node_pool_id AS op_pool, o.params AS op_params
    FROM clusters c
    LEFT JOIN operations o ON o.cluster_id = c.id AND o.state IN ('pending', 'running')
    WHERE c.state NOT IN ('deleted', 'failed') AND ($1::uuid[] IS NULL OR c.project_id = ANY($1))
  ),
  pools AS (
    SELECT live.project_id,
      CASE
        WHEN live.op_type = 'create-cluster' OR (live.op_type = 'add-node-pool' AND live.op_pool = np.id) THEN 0
        WHEN live.op_type = 'scale-node-pool' AND live.op_pool = np.id THEN (live.op_params->>'previousQuantity')::int
        ELSE np.quantity
      END AS used,
      CASE
        WHEN live.op_type = 'create-cluster' OR (live.op_type = 'add-node-pool' AND live.op_pool = np.id) THEN np.quantity
        WHEN live.op_type = 'scale-node-pool' AND live.op_pool = np.id
          THEN greatest(0, (live.op_params->>'quantity')::int - (live.op_params->>'previousQuantity')::int)
        ELSE 0
      END AS reserved
    FROM live JOIN node_pools np ON np.cluster_id = live.id AND np.state NOT IN ('deleted', 'failed')
  ),
  by_cluster AS (
    SELECT project_id,
      count(*) FILTER (WHERE op_type IS DISTINCT FROM 'create-cluster') AS clusters_used,
      count(*) FILTER (WHERE op_type = 'create-cluster') AS clusters_reserved
    FROM live GROUP BY project_id
  ),
  registrations AS (
    SELECT r.project_id, r.joined AS used,
      CASE WHEN r.closed_at IS NULL THEN r.count - r.joined - r.released ELSE 0 END AS reserved
    FROM node_registrations r JOIN live ON live.id = r.cluster_id
  ),
  by_pool AS (
    SELECT project_id, sum(used) AS nodes_used, sum(reserved) AS nodes_reserved
    FROM (SELECT project_id, used, reserved FROM pools UNION ALL SELECT project_id, used, reserved FROM registrations) n
    GROUP BY project_id
  )
  SELECT p.id AS project_id,
    coalesce(bc.clusters_used, 0) AS clusters_used, coalesce(bc.clusters_reserved, 0) AS clusters_reserved,
    coalesce(bp.nodes_used, 0) AS nodes_used, coalesce(bp.nodes_reserved, 0) AS nodes_reserved
  FROM projects p
  LEFT JOIN by_cluster bc ON bc.project_id = p.id
  LEFT JOIN by_pool bp ON bp.project_id = p.id
  WHERE $1::uuid[] IS NULL OR p.id = ANY($1)`;

/** The quota counters. Every change is one conditional UPDATE of the project's row (style rule 6). */
@Injectable()
export class QuotaRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Creates the project's row with the given limits unless it exists. */
  async ensure(projectId: string, limits: QuotaAmount): Promise<void> {
    await this.uow.manager.query(
      `INSERT INTO project_quotas (project_id, clusters_limit, nodes_limit) VALUES ($1, $2, $3)
       ON CONFLICT (project_id) DO NOTHING`,
      [projectId, limits.clusters, limits.nodes],
    );
  }

  /** Gives every project without a row one with the given limits; returns how many were added. */
  async ensureAll(limits: QuotaAmount): Promise<number> {
    const rows: unknown[] = await this.uow.manager.query(
      `INSERT INTO project_quotas (project_id, clusters_limit, nodes_limit)
       SELECT id, $1, $2 FROM projects ON CONFLICT (project_id) DO NOTHING RETURNING project_id`,
      [limits.clusters, limits.nodes],
    );
    return rows.length;
  }

  /**
   * Adds `amount` to the reservations if it fits under both limits; false when it does not (or the
   * row is missing). Only what grows is checked, so a limit lowered below usage blocks growth only.
   * The row stays locked until the caller's transaction ends.
   */
  async tryReserve(projectId: string, amount: QuotaAmount): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE project_quotas
         SET clusters_reserved = clusters_reserved + $2, nodes_reserved = nodes_reserved + $3, updated_at = now()
       WHERE project_id = $1
         AND ($2::int = 0 OR clusters_used + clusters_reserved + $2 <= clusters_limit)
         AND ($3::int = 0 OR nodes_used + nodes_reserved + $3 <= nodes_limit)
       RETURNING project_id`,
      [projectId, amount.clusters, amount.nodes],
    );
    return rows.length > 0;
  }

  async adjust(projectId: string, d: QuotaDelta): Promise<void> {
    await this.uow.manager.query(
      `UPDATE project_quotas SET
         clusters_used = greatest(0, clusters_used + $2), clusters_reserved = greatest(0, clusters_reserved + $3),
         nodes_used = greatest(0, nodes_used + $4), nodes_reserved = greatest(0, nodes_reserved + $5),
         updated_at = now()
       WHERE project_id = $1`,
      [projectId, d.clustersUsed ?? 0, d.clustersReserved ?? 0, d.nodesUsed ?? 0, d.nodesReserved ?? 0],
    );
  }

  async findByProjectId(projectId: string, lock = false): Promise<QuotaRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(
      `${SELECT_QUOTA} WHERE q.project_id = $1 ${lock ? 'FOR UPDATE OF q' : ''}`,
      [projectId],
    );
    return rows.length > 0 ? toQuota(rows[0]) : null;
  }

  /** The project's maximum cluster lifetime in seconds; null when it has none. */
  async maxClusterLifetimeOf(projectId: string): Promise<number | null> {
    const rows: Array<{ max_cluster_lifetime_seconds: number | null }> = await this.uow.manager.query(
      `SELECT max_cluster_lifetime_seconds FROM project_quotas WHERE project_id = $1`,
      [projectId],
    );
    return rows[0]?.max_cluster_lifetime_seconds ?? null;
  }

  async findByProjectName(name: string): Promise<QuotaRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(`${SELECT_QUOTA} WHERE p.name = $1`, [name]);
    return rows.length > 0 ? toQuota(rows[0]) : null;
  }

  /** Sets every limit (creating the row if needed); null when the project does not exist. */
  async setLimits(
    projectName: string,
    limits: QuotaAmount & { maxClusterLifetimeSeconds: number | null },
  ): Promise<string | null> {
    const rows: Array<{ project_id: string }> = await this.uow.manager.query(
      `INSERT INTO project_quotas (project_id, clusters_limit, nodes_limit, max_cluster_lifetime_seconds)
       SELECT id, $2, $3, $4 FROM projects WHERE name = $1
       ON CONFLICT (project_id) DO UPDATE
         SET clusters_limit = EXCLUDED.clusters_limit, nodes_limit = EXCLUDED.nodes_limit,
           max_cluster_lifetime_seconds = EXCLUDED.max_cluster_lifetime_seconds, updated_at = now()
       RETURNING project_id`,
      [projectName, limits.clusters, limits.nodes, limits.maxClusterLifetimeSeconds],
    );
    return rows[0]?.project_id ?? null;
  }

  /** Keyset page ordered by project name; fetches `limit + 1`. */
  async list(limit: number, afterName: string | null): Promise<QuotaRecord[]> {
    const rows: unknown[] = await this.uow.manager.query(
      `${SELECT_QUOTA} WHERE ($1::text IS NULL OR p.name > $1) ORDER BY p.name LIMIT $2`,
      [afterName, limit + 1],
    );
    return rows.map(toQuota);
  }

  /** Every row, for the gauges (one row per project). */
  async listAll(): Promise<QuotaRecord[]> {
    const rows: unknown[] = await this.uow.manager.query(`${SELECT_QUOTA} ORDER BY p.name`);
    return rows.map(toQuota);
  }

  async truth(projectIds: string[] | null): Promise<QuotaTruth[]> {
    const rows: unknown[] = await this.uow.manager.query(TRUTH_SQL, [projectIds]);
    return rows.map(toTruth);
  }

  async overwrite(projectId: string, truth: QuotaTruth): Promise<void> {
    await this.uow.manager.query(
      `UPDATE project_quotas SET clusters_used = $2, clusters_reserved = $3, nodes_used = $4, nodes_reserved = $5,
         updated_at = now()
       WHERE project_id = $1`,
      [projectId, truth.clusters.used, truth.clusters.reserved, truth.nodes.used, truth.nodes.reserved],
    );
  }
}
