import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type {
  AddonState,
  ClusterAddonRecord,
  ClusterAddonUpdate,
  FailedCluster,
  SyncedClusterAddon,
} from './addon.types';

interface ClusterAddonRow {
  cluster_id: string;
  addon_id: string;
  addon_name: string;
  required: boolean;
  opted_in: boolean;
  values: Record<string, unknown> | null;
  state: AddonState;
  version: string | null;
  message: string;
  observed_generation: number;
  updated_at: Date;
}

const toClusterAddon = (r: ClusterAddonRow): ClusterAddonRecord => ({
  clusterId: r.cluster_id,
  addonId: r.addon_id,
  addonName: r.addon_name,
  required: r.required,
  optedIn: r.opted_in,
  values: r.values,
  state: r.state,
  version: r.version,
  message: r.message,
  observedGeneration: r.observed_generation,
  updatedAt: r.updated_at,
});

/** A cluster that can carry addons: on its backend, and not on its way out. */
const LIVE_CLUSTER = `c.rancher_id IS NOT NULL AND c.state NOT IN ('deleting', 'deleted', 'failed')`;

/** Whether a cluster should have the addon: it is required, or its owner opted in. */
const DESIRED = `(a.required OR ca.opted_in)`;

/**
 * The `cluster_addons` table: each cluster's addons (opt-ins, values, observed state) and the
 * rollout counts read from it.
 */
@Injectable()
export class ClusterAddonsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Rows for every live cluster of the backend that a required addon must reach (new clusters
   * included), and drops the rows of clusters that are gone. Set-based: two statements per cycle.
   */
  async ensureClusterRows(backendId: string): Promise<void> {
    await this.uow.manager.query(
      `DELETE FROM cluster_addons ca USING clusters c
       WHERE c.id = ca.cluster_id AND c.backend_id = $1 AND c.state = 'deleted'`,
      [backendId],
    );
    await this.uow.manager.query(
      `INSERT INTO cluster_addons (cluster_id, addon_id)
       SELECT c.id, a.id FROM clusters c CROSS JOIN addons a
       WHERE c.backend_id = $1 AND ${LIVE_CLUSTER} AND a.required AND NOT a.deleting
       ON CONFLICT DO NOTHING`,
      [backendId],
    );
  }

  /** How many clusters of the backend should have the addon. */
  async countDesired(addonId: string, backendId: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.uow.manager.query(
      `SELECT count(*)::int AS n FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id
       JOIN clusters c ON c.id = ca.cluster_id
       WHERE ca.addon_id = $1 AND c.backend_id = $2 AND ${LIVE_CLUSTER} AND ${DESIRED}`,
      [addonId, backendId],
    );
    return rows[0]?.n ?? 0;
  }

  /** Whether any row of the backend is leaving (opted out, or no longer required). */
  async anyLeaving(addonId: string, backendId: string): Promise<boolean> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT 1 FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id
       JOIN clusters c ON c.id = ca.cluster_id
       WHERE ca.addon_id = $1 AND c.backend_id = $2 AND NOT ${DESIRED} LIMIT 1`,
      [addonId, backendId],
    );
    return rows.length > 0;
  }

  /**
   * Fleet says every targeted cluster is ready at `version`: one statement for all of them.
   * `generation` is what the backend's object carried when its status was read.
   */
  async markAllInstalled(
    addonId: string,
    backendId: string,
    version: string,
    at: Date,
    generation: number,
  ): Promise<void> {
    await this.uow.manager.query(
      `UPDATE cluster_addons ca SET state = 'installed', version = $3::varchar, message = '', synced_at = $4,
              observed_generation = $5,
              updated_at = CASE WHEN ca.state = 'installed' AND ca.version = $3::varchar THEN ca.updated_at ELSE now() END
       FROM clusters c, addons a
       WHERE c.id = ca.cluster_id AND a.id = ca.addon_id AND ca.addon_id = $1 AND c.backend_id = $2
         AND ${LIVE_CLUSTER} AND ${DESIRED}`,
      [addonId, backendId, version, at, generation],
    );
  }

  /** The rows of the clusters a page of deployments names (by the backend's cluster id). */
  async rowsFor(addonId: string, backendId: string, rancherIds: string[]): Promise<SyncedClusterAddon[]> {
    const rows: Array<{
      cluster_id: string;
      rancher_id: string;
      desired: boolean;
      state: AddonState | null;
      version: string | null;
    }> = await this.uow.manager.query(
      `SELECT c.id AS cluster_id, c.rancher_id, COALESCE(${DESIRED}, a.required) AS desired,
              ca.state, ca.version
       FROM clusters c JOIN addons a ON a.id = $1
       LEFT JOIN cluster_addons ca ON ca.cluster_id = c.id AND ca.addon_id = a.id
       WHERE c.backend_id = $2 AND c.rancher_id = ANY($3::text[]) AND c.state <> 'deleted'`,
      [addonId, backendId, rancherIds],
    );
    return rows.map((r) => ({
      clusterId: r.cluster_id,
      rancherId: r.rancher_id,
      desired: r.desired,
      state: r.state ?? 'pending',
      version: r.version,
    }));
  }

  /**
   * Writes a page's states (rows absent so far are added: Fleet found a cluster before we did),
   * read while the backend's object carried `generation`.
   */
  async writeStates(
    addonId: string,
    updates: ClusterAddonUpdate[],
    at: Date,
    generation: number,
  ): Promise<void> {
    if (updates.length === 0) return;
    await this.uow.manager.query(
      `INSERT INTO cluster_addons (cluster_id, addon_id, state, version, message, synced_at, observed_generation)
       SELECT t.cluster_id, $1, t.state, t.version, t.message, $6, $7
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS t(cluster_id, state, version, message)
       ON CONFLICT (cluster_id, addon_id) DO UPDATE SET
         state = EXCLUDED.state, version = EXCLUDED.version, message = EXCLUDED.message,
         synced_at = EXCLUDED.synced_at, observed_generation = EXCLUDED.observed_generation,
         updated_at = CASE WHEN cluster_addons.state = EXCLUDED.state
                             AND cluster_addons.version IS NOT DISTINCT FROM EXCLUDED.version
                             AND cluster_addons.message = EXCLUDED.message
                           THEN cluster_addons.updated_at ELSE now() END`,
      [
        addonId,
        updates.map((u) => u.clusterId),
        updates.map((u) => u.state),
        updates.map((u) => u.version),
        updates.map((u) => u.message),
        at,
        generation,
      ],
    );
  }

  /**
   * After the last page: a cluster that should have the addon and has no deployment is `pending`
   * (Fleet stages 50 at a time, or the cluster is not in Fleet yet); a leaving one with no
   * deployment is gone, and so is its row.
   */
  async finishDrillDown(addonId: string, backendId: string, at: Date, generation: number): Promise<void> {
    await this.uow.manager.query(
      `UPDATE cluster_addons ca SET state = 'pending', message = '', synced_at = $3, observed_generation = $4,
              updated_at = now()
       FROM clusters c, addons a
       WHERE c.id = ca.cluster_id AND a.id = ca.addon_id AND ca.addon_id = $1 AND c.backend_id = $2
         AND ${DESIRED} AND (ca.synced_at IS NULL OR ca.synced_at < $3) AND ca.state <> 'pending'`,
      [addonId, backendId, at, generation],
    );
    await this.removeLeftRows(addonId, backendId, at);
  }

  /** Rows of clusters that left the addon and whose deployment is gone (or never was). */
  async removeLeftRows(addonId: string, backendId: string, at: Date): Promise<void> {
    await this.uow.manager.query(
      `DELETE FROM cluster_addons ca USING clusters c, addons a
       WHERE c.id = ca.cluster_id AND a.id = ca.addon_id AND ca.addon_id = $1 AND c.backend_id = $2
         AND NOT ${DESIRED} AND (ca.synced_at IS NULL OR ca.synced_at < $3)`,
      [addonId, backendId, at],
    );
  }

  /** Clusters of the backend opted in with values of their own, by the backend's cluster id. */
  async valuesTargets(
    addonId: string,
    backendId: string,
  ): Promise<Array<{ clusterId: string; rancherId: string; values: Record<string, unknown> }>> {
    const rows: Array<{ cluster_id: string; rancher_id: string; values: Record<string, unknown> }> =
      await this.uow.manager.query(
        `SELECT ca.cluster_id, c.rancher_id, ca."values" FROM cluster_addons ca JOIN clusters c ON c.id = ca.cluster_id
         WHERE ca.addon_id = $1 AND c.backend_id = $2 AND ca.opted_in AND ca."values" IS NOT NULL
           AND ${LIVE_CLUSTER}
         ORDER BY ca.cluster_id`,
        [addonId, backendId],
      );
    return rows.map((r) => ({ clusterId: r.cluster_id, rancherId: r.rancher_id, values: r.values }));
  }

  async clusterRow(clusterId: string, addonId: string): Promise<ClusterAddonRecord | null> {
    const rows: ClusterAddonRow[] = await this.uow.manager.query(
      `SELECT ca.*, a.name AS addon_name, a.required FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id
       WHERE ca.cluster_id = $1 AND ca.addon_id = $2`,
      [clusterId, addonId],
    );
    return rows[0] ? toClusterAddon(rows[0]) : null;
  }

  /**
   * Every addon the cluster has, should have or is losing, by name. A required addon reads
   * `pending` on a live cluster before the sync's first row for it (a cluster just created), so a
   * reader waiting for every addon to be installed never sees an empty list as done; not where the
   * backend's Fleet is known to be unable to deliver it.
   */
  async ofCluster(clusterId: string): Promise<ClusterAddonRecord[]> {
    const rows: ClusterAddonRow[] = await this.uow.manager.query(
      `SELECT ca.*, a.name AS addon_name, a.required FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id
       WHERE ca.cluster_id = $1
       UNION ALL
       SELECT c.id AS cluster_id, a.id AS addon_id, false AS opted_in, NULL::jsonb AS "values",
              'pending' AS state, NULL AS version, '' AS message, NULL::timestamptz AS synced_at,
              c.updated_at, 0 AS observed_generation, a.name AS addon_name, a.required
       FROM clusters c CROSS JOIN addons a
       WHERE c.id = $1 AND ${LIVE_CLUSTER} AND a.required AND NOT a.deleting
         AND NOT EXISTS (SELECT 1 FROM cluster_addons ca WHERE ca.cluster_id = c.id AND ca.addon_id = a.id)
         AND NOT EXISTS (SELECT 1 FROM addon_deliveries d
                         WHERE d.addon_id = a.id AND d.backend_id = c.backend_id AND d.state = 'unsupported')
       ORDER BY addon_name`,
      [clusterId],
    );
    return rows.map(toClusterAddon);
  }

  /**
   * The owner opts in (again): returns whether the values Fleet must carry changed. A row already
   * there keeps its state (the addon may be installed already).
   */
  async optIn(clusterId: string, addonId: string, values: Record<string, unknown> | null): Promise<boolean> {
    const before: Array<{ values: Record<string, unknown> | null }> = await this.uow.manager.query(
      `SELECT "values" FROM cluster_addons WHERE cluster_id = $1 AND addon_id = $2 FOR UPDATE`,
      [clusterId, addonId],
    );
    await this.uow.manager.query(
      `INSERT INTO cluster_addons (cluster_id, addon_id, opted_in, "values")
       VALUES ($1, $2, true, $3)
       ON CONFLICT (cluster_id, addon_id) DO UPDATE SET opted_in = true, "values" = EXCLUDED."values",
         state = CASE WHEN cluster_addons.state = 'uninstalling' THEN 'pending' ELSE cluster_addons.state END,
         updated_at = now()`,
      [clusterId, addonId, values === null ? null : JSON.stringify(values)],
    );
    return JSON.stringify(before[0]?.values ?? null) !== JSON.stringify(values);
  }

  /** The owner opts out: returns the values it had (null: none), undefined when it was not opted in. */
  async optOut(clusterId: string, addonId: string): Promise<Record<string, unknown> | null | undefined> {
    const [rows]: [Array<{ values: Record<string, unknown> | null }>, number] = await this.uow.manager.query(
      `UPDATE cluster_addons ca SET opted_in = false, "values" = NULL, state = 'uninstalling', message = '',
              updated_at = now()
       FROM (SELECT "values" FROM cluster_addons WHERE cluster_id = $1 AND addon_id = $2 AND opted_in FOR UPDATE) old
       WHERE ca.cluster_id = $1 AND ca.addon_id = $2
       RETURNING old."values"`,
      [clusterId, addonId],
    );
    return rows[0] ? rows[0].values : undefined;
  }

  // ------------------------------------------------------------------ rollout and metrics

  /** Per backend: clusters that should have the addon, ready at `version`, failed at `version`. */
  async rolloutCounts(
    addonId: string,
    version: string,
  ): Promise<Array<{ backendId: string; total: number; ready: number; failed: number }>> {
    const rows: Array<{ backend_id: string; total: number; ready: number; failed: number }> =
      await this.uow.manager.query(
        `SELECT c.backend_id, count(*)::int AS total,
                count(*) FILTER (WHERE ca.state = 'installed' AND ca.version = $2)::int AS ready,
                count(*) FILTER (WHERE ca.state = 'failed' AND ca.version = $2)::int AS failed
         FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id JOIN clusters c ON c.id = ca.cluster_id
         WHERE ca.addon_id = $1 AND ${LIVE_CLUSTER} AND ${DESIRED}
         GROUP BY c.backend_id`,
        [addonId, version],
      );
    return rows.map((r) => ({ backendId: r.backend_id, total: r.total, ready: r.ready, failed: r.failed }));
  }

  /**
   * Clusters where the addon's current version failed: a failure of the version it replaces
   * (still reported until the new one reaches the cluster) does not count against the new one.
   */
  async failedCount(addonId: string): Promise<number> {
    const rows: Array<{ n: number }> = await this.uow.manager.query(
      `SELECT count(*)::int AS n FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id
       JOIN clusters c ON c.id = ca.cluster_id
       WHERE ca.addon_id = $1 AND ca.state = 'failed' AND ca.version = a.chart_version
         AND ${LIVE_CLUSTER} AND ${DESIRED}`,
      [addonId],
    );
    return rows[0]?.n ?? 0;
  }

  async failedClusters(addonId: string, limit: number): Promise<FailedCluster[]> {
    const rows: Array<{
      project: string;
      cluster: string;
      backend: string;
      version: string | null;
      message: string;
    }> = await this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, b.name AS backend, ca.version, ca.message
         FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id JOIN clusters c ON c.id = ca.cluster_id
         JOIN projects p ON p.id = c.project_id JOIN backends b ON b.id = c.backend_id
         WHERE ca.addon_id = $1 AND ca.state = 'failed' AND ca.version = a.chart_version
           AND ${LIVE_CLUSTER} AND ${DESIRED}
         ORDER BY p.name, c.name LIMIT $2`,
      [addonId, limit],
    );
    return rows;
  }

  /** `paddock_addon_installs`: clusters per addon, version and state. */
  async installCounts(): Promise<
    Array<{ addon: string; version: string; state: AddonState; count: number }>
  > {
    const rows: Array<{ addon: string; version: string | null; state: AddonState; count: number }> =
      await this.uow.manager.query(
        `SELECT a.name AS addon, ca.version, ca.state, count(*)::int AS count
         FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id JOIN clusters c ON c.id = ca.cluster_id
         WHERE c.state <> 'deleted'
         GROUP BY a.name, ca.version, ca.state`,
      );
    return rows.map((r) => ({ ...r, version: r.version ?? '' }));
  }

  /** `paddock_addon_not_ready`: every cluster where an addon it should have is not installed. */
  async notReady(): Promise<Array<{ project: string; cluster: string; addon: string }>> {
    return this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, a.name AS addon
       FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id JOIN clusters c ON c.id = ca.cluster_id
       JOIN projects p ON p.id = c.project_id
       WHERE ca.state <> 'installed' AND ${LIVE_CLUSTER} AND ${DESIRED} AND NOT a.deleting`,
    );
  }
}
