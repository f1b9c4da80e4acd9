import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { UnitOfWork } from '../database/unit-of-work';
import type {
  ClusterRecord,
  ClusterState,
  Condition,
  NewCluster,
  NewNodePool,
  NodePoolRecord,
  NodePoolState,
  NodeRole,
} from './cluster.types';

/** A `clusters` row as the repository selects it (with its project's name and operation in flight). */
interface ClusterRow {
  id: string;
  project_id: string;
  project_name: string;
  backend_id: string;
  name: string;
  rancher_name: string;
  rancher_id: string | null;
  kubernetes_version: string | null;
  region: string | null;
  labels: Record<string, string>;
  state: ClusterState;
  remote_state: string | null;
  remote_transitioning: string | null;
  remote_message: string | null;
  conditions: Condition[];
  node_count: number;
  status_updated_at: Date | null;
  active_operation_id: string | null;
  expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A `node_pools` row. */
interface NodePoolRow {
  id: string;
  cluster_id: string;
  name: string;
  roles: NodeRole[];
  flavor: string;
  node_template_id: string;
  quantity: number;
  remote_quantity: number | null;
  ready_nodes: number;
  rancher_id: string | null;
  state: NodePoolState;
  auto_replace_seconds: number | null;
  created_at: Date;
}

const toCluster = (r: ClusterRow): ClusterRecord => ({
  id: r.id,
  projectId: r.project_id,
  projectName: r.project_name,
  backendId: r.backend_id,
  name: r.name,
  rancherName: r.rancher_name,
  rancherId: r.rancher_id,
  kubernetesVersion: r.kubernetes_version,
  region: r.region,
  labels: r.labels,
  state: r.state,
  remoteState: r.remote_state,
  remoteTransitioning: r.remote_transitioning,
  remoteMessage: r.remote_message,
  conditions: r.conditions,
  nodeCount: r.node_count,
  statusUpdatedAt: r.status_updated_at,
  activeOperationId: r.active_operation_id ?? null,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toPool = (r: NodePoolRow): NodePoolRecord => ({
  id: r.id,
  clusterId: r.cluster_id,
  name: r.name,
  roles: r.roles,
  flavor: r.flavor,
  nodeTemplateId: r.node_template_id,
  quantity: r.quantity,
  remoteQuantity: r.remote_quantity,
  readyNodes: r.ready_nodes,
  rancherId: r.rancher_id,
  state: r.state,
  autoReplaceSeconds: r.auto_replace_seconds ?? null,
  createdAt: r.created_at,
});

const SELECT_CLUSTER = `
  SELECT c.*, p.name AS project_name,
    (SELECT o.id FROM operations o WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running')) AS active_operation_id
  FROM clusters c JOIN projects p ON p.id = c.project_id`;

export const LIVE = `NOT IN ('deleted', 'failed')`;

/** Inserts `provisioning` pools from the seven arrays of `poolColumns`, bound from `$first` on. */
const insertPoolsSql = (first: number) => {
  const [id, cluster, name, roles, flavor, template, quantity, autoReplace] = Array.from(
    { length: 8 },
    (_, i) => `$${first + i}`,
  );
  return `
    INSERT INTO node_pools (id, cluster_id, name, roles, flavor, node_template_id, quantity, auto_replace_seconds, state)
    SELECT id, cluster_id, name, string_to_array(roles, ','), flavor, template, quantity, auto_replace, 'provisioning'
    FROM unnest(${id}::uuid[], ${cluster}::uuid[], ${name}::text[], ${roles}::text[], ${flavor}::text[],
      ${template}::text[], ${quantity}::int[], ${autoReplace}::int[])
      AS t(id, cluster_id, name, roles, flavor, template, quantity, auto_replace)`;
};

/** The pools' columns as parallel arrays, for `unnest`. */
const poolColumns = (pools: NewNodePool[]) => [
  pools.map((p) => p.id),
  pools.map((p) => p.clusterId),
  pools.map((p) => p.name),
  // unnest flattens a 2-D array, so roles travel as one comma-joined string per pool.
  pools.map((p) => p.roles.join(',')),
  pools.map((p) => p.flavor),
  pools.map((p) => p.nodeTemplateId),
  pools.map((p) => p.quantity),
  pools.map((p) => p.autoReplaceSeconds ?? null),
];

@Injectable()
export class ClustersRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Inserts a `provisioning` cluster with its `provisioning` pools, in one statement, and returns
   * its creation time (the transaction's `now()`, so also that of every row inserted beside it);
   * null when a live cluster of the project has the name. Pool names must be distinct (validated).
   */
  async insertCluster(c: NewCluster, pools: NewNodePool[]): Promise<Date | null> {
    try {
      const rows: Array<Pick<ClusterRow, 'created_at'>> = await this.uow.manager.query(
        `WITH cluster AS (
           INSERT INTO clusters (id, project_id, backend_id, name, rancher_name, kubernetes_version, region, labels, expires_at, state)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'provisioning') RETURNING id, created_at),
         pools AS (${insertPoolsSql(10)})
         SELECT created_at FROM cluster`,
        [
          c.id,
          c.projectId,
          c.backendId,
          c.name,
          c.rancherName,
          c.kubernetesVersion,
          c.region,
          JSON.stringify(c.labels),
          c.expiresAt,
          ...poolColumns(pools),
        ],
      );
      return rows[0].created_at;
    } catch (error) {
      if (isUniqueViolation(error, 'clusters_live_name_idx')) return null;
      throw error;
    }
  }

  /** Inserts `provisioning` pools; returns false when a live pool of the cluster has one of the names. */
  async insertPools(pools: NewNodePool[]): Promise<boolean> {
    if (pools.length === 0) return true;
    try {
      await this.uow.manager.query(insertPoolsSql(1), poolColumns(pools));
      return true;
    } catch (error) {
      if (isUniqueViolation(error, 'node_pools_live_name_idx')) return false;
      throw error;
    }
  }

  /** Re-homes a cluster created in this transaction: its backend, and its pools' node templates. */
  async moveToBackend(
    clusterId: string,
    backendId: string,
    nodeTemplates: Record<string, string>,
  ): Promise<void> {
    await this.uow.manager.query(`UPDATE clusters SET backend_id = $2 WHERE id = $1`, [clusterId, backendId]);
    await this.uow.manager.query(
      `UPDATE node_pools p SET node_template_id = t.template
       FROM unnest($2::text[], $3::text[]) AS t(flavor, template)
       WHERE p.cluster_id = $1 AND p.flavor = t.flavor`,
      [clusterId, Object.keys(nodeTemplates), Object.values(nodeTemplates)],
    );
  }

  async findById(id: string): Promise<ClusterRecord | null> {
    const rows: ClusterRow[] = await this.uow.manager.query(`${SELECT_CLUSTER} WHERE c.id = $1`, [id]);
    return rows.length > 0 ? toCluster(rows[0]) : null;
  }

  /** The live cluster of that name; failing that, the most recent one (so a failed create stays visible). */
  async findByName(projectId: string, name: string): Promise<ClusterRecord | null> {
    const rows: ClusterRow[] = await this.uow.manager.query(
      `${SELECT_CLUSTER} WHERE c.project_id = $1 AND c.name = $2
       ORDER BY (c.state ${LIVE}) DESC, c.created_at DESC LIMIT 1`,
      [projectId, name],
    );
    return rows.length > 0 ? toCluster(rows[0]) : null;
  }

  async list(
    projectId: string,
    state: ClusterState | undefined,
    limit: number,
    after: { name: string; id: string } | null,
  ): Promise<ClusterRecord[]> {
    const rows: ClusterRow[] = await this.uow.manager.query(
      `${SELECT_CLUSTER}
       WHERE c.project_id = $1 AND ($2::text IS NULL OR c.state = $2)
         AND ($3::text IS NULL OR (c.name, c.id) > ($3, $4::uuid))
       ORDER BY c.name, c.id LIMIT $5`,
      [projectId, state ?? null, after?.name ?? null, after?.id ?? null, limit + 1],
    );
    return rows.map(toCluster);
  }

  async poolsOf(clusterIds: string[], includeGone = false): Promise<NodePoolRecord[]> {
    if (clusterIds.length === 0) return [];
    const rows: NodePoolRow[] = await this.uow.manager.query(
      `SELECT * FROM node_pools WHERE cluster_id = ANY($1::uuid[]) ${includeGone ? '' : `AND state ${LIVE}`}
       ORDER BY created_at, name`,
      [clusterIds],
    );
    return rows.map(toPool);
  }

  async findPool(id: string): Promise<NodePoolRecord | null> {
    const rows: NodePoolRow[] = await this.uow.manager.query(`SELECT * FROM node_pools WHERE id = $1`, [id]);
    return rows.length > 0 ? toPool(rows[0]) : null;
  }

  async findLivePoolByName(clusterId: string, name: string): Promise<NodePoolRecord | null> {
    const rows: NodePoolRow[] = await this.uow.manager.query(
      `SELECT * FROM node_pools WHERE cluster_id = $1 AND name = $2 AND state ${LIVE}`,
      [clusterId, name],
    );
    return rows.length > 0 ? toPool(rows[0]) : null;
  }

  /** Records the auto-replace setting the backend now has for the pool. */
  async setPoolAutoReplace(poolId: string, seconds: number | null): Promise<void> {
    await this.uow.manager.query(
      `UPDATE node_pools SET auto_replace_seconds = $2::int, updated_at = now() WHERE id = $1`,
      [poolId, seconds],
    );
  }

  /** What a cluster counts against its backend: itself and the quantity of its live pools. */
  async usageOf(clusterId: string): Promise<{ backendId: string; nodes: number }> {
    const rows: Array<{ backend_id: string; nodes: string }> = await this.uow.manager.query(
      `SELECT c.backend_id,
         (SELECT coalesce(sum(p.quantity), 0) FROM node_pools p WHERE p.cluster_id = c.id AND p.state ${LIVE}) AS nodes
       FROM clusters c WHERE c.id = $1`,
      [clusterId],
    );
    return { backendId: rows[0].backend_id, nodes: Number(rows[0].nodes) };
  }

  async setRancherId(clusterId: string, rancherId: string): Promise<void> {
    await this.uow.manager.query(`UPDATE clusters SET rancher_id = $2, updated_at = now() WHERE id = $1`, [
      clusterId,
      rancherId,
    ]);
  }

  async setPoolRancherId(poolId: string, rancherId: string | null): Promise<void> {
    await this.uow.manager.query(`UPDATE node_pools SET rancher_id = $2, updated_at = now() WHERE id = $1`, [
      poolId,
      rancherId,
    ]);
  }

  async setState(clusterId: string, state: ClusterState): Promise<void> {
    await this.uow.manager.query(
      `UPDATE clusters SET state = $2::text, updated_at = now(),
         deleted_at = CASE WHEN $2::text = 'deleted' THEN now() ELSE deleted_at END
       WHERE id = $1`,
      [clusterId, state],
    );
    if (state === 'deleted' || state === 'failed') {
      // The cluster's pools and mirrored nodes go with it.
      await this.uow.manager.query(
        `UPDATE node_pools SET state = CASE WHEN state = 'provisioning' AND $2::text = 'failed' THEN 'failed' ELSE 'deleted' END,
           deleted_at = now(), updated_at = now()
         WHERE cluster_id = $1 AND state ${LIVE}`,
        [clusterId, state],
      );
      await this.uow.manager.query(`DELETE FROM nodes WHERE cluster_id = $1`, [clusterId]);
    }
  }

  /** The version the backend reports the cluster runs (an upgrade that finished). */
  async setKubernetesVersion(clusterId: string, version: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE clusters SET kubernetes_version = $2, updated_at = now() WHERE id = $1 AND kubernetes_version IS DISTINCT FROM $2`,
      [clusterId, version],
    );
  }

  async setExpiry(clusterId: string, expiresAt: Date | null): Promise<void> {
    await this.uow.manager.query(`UPDATE clusters SET expires_at = $2, updated_at = now() WHERE id = $1`, [
      clusterId,
      expiresAt,
    ]);
  }

  /**
   * Live clusters past their expiry that no delete has been recorded for yet, oldest expiry
   * first (served by the partial index on `expires_at`).
   */
  async expiredIds(limit: number): Promise<string[]> {
    const rows: Array<Pick<ClusterRow, 'id'>> = await this.uow.manager.query(
      `SELECT id FROM clusters
       WHERE expires_at IS NOT NULL AND expires_at <= now() AND state NOT IN ('deleted', 'failed', 'deleting')
       ORDER BY expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Locks the cluster's row until the caller's transaction ends, and reads it. */
  async findByIdForUpdate(id: string): Promise<ClusterRecord | null> {
    await this.uow.manager.query(`SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE`, [id]);
    return this.findById(id);
  }

  async setPoolState(poolId: string, state: NodePoolState, quantity?: number): Promise<void> {
    await this.uow.manager.query(
      `UPDATE node_pools SET state = $2::text, quantity = coalesce($3::int, quantity), updated_at = now(),
         deleted_at = CASE WHEN $2::text IN ('deleted', 'failed') THEN now() ELSE deleted_at END
       WHERE id = $1`,
      [poolId, state, quantity ?? null],
    );
    if (state === 'deleted' || state === 'failed') {
      await this.uow.manager.query(`DELETE FROM nodes WHERE node_pool_id = $1`, [poolId]);
    }
  }
}
