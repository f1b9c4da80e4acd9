import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { ClusterState, Condition } from './cluster.types';
import type {
  ClusterStatusUpdate,
  NodeMirror,
  PoolStatusUpdate,
  SyncCluster,
  SyncPool,
} from './status-sync.diff';

/** The columns of `clusters` the sync reads, with whether an operation is in flight. */
interface SyncClusterRow {
  id: string;
  rancher_id: string | null;
  state: ClusterState;
  conditions: Condition[];
  active: boolean;
}

/** The columns of `node_pools` the sync reads. */
interface SyncPoolRow {
  id: string;
  cluster_id: string;
  rancher_id: string | null;
  quantity: number;
  state: string;
}

const toSyncCluster = (r: SyncClusterRow): SyncCluster => ({
  id: r.id,
  rancherId: r.rancher_id,
  state: r.state,
  conditions: r.conditions,
  hasActiveOperation: r.active,
});

const toSyncPool = (r: SyncPoolRow): SyncPool => ({
  id: r.id,
  clusterId: r.cluster_id,
  rancherId: r.rancher_id,
  quantity: r.quantity,
  state: r.state,
});

const LIVE_CLUSTER = `c.backend_id = $1 AND c.state NOT IN ('deleted', 'failed')`;
const SYNC_CLUSTER_COLUMNS = `c.id, c.rancher_id, c.state, c.conditions,
  EXISTS (SELECT 1 FROM operations o WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running')) AS active`;
const LIVE_POOL = `${LIVE_CLUSTER} AND p.state NOT IN ('deleted', 'failed')`;

/**
 * The status sync's reads and writes. Reads name the rows one page of the listing refers to, and
 * each write is one statement over a page's arrays, so a cycle costs a few statements per page
 * and holds no more than a page in memory, whatever the number of clusters on the backend.
 */
@Injectable()
export class StatusSyncRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Live clusters of the backend named by a page: by Rancher id, or by the Paddock id a label claims. */
  async clustersNamed(backendId: string, rancherIds: string[], ids: string[]): Promise<SyncCluster[]> {
    const rows: SyncClusterRow[] = await this.uow.manager.query(
      `SELECT ${SYNC_CLUSTER_COLUMNS} FROM clusters c
       WHERE ${LIVE_CLUSTER} AND (c.rancher_id = ANY($2::text[]) OR c.id = ANY($3::uuid[]))`,
      [backendId, rancherIds, ids],
    );
    return rows.map(toSyncCluster);
  }

  /** Live clusters of the backend created there whose Rancher id is not in `seen`. */
  async clustersNotIn(backendId: string, seen: string[]): Promise<SyncCluster[]> {
    const rows: SyncClusterRow[] = await this.uow.manager.query(
      `SELECT ${SYNC_CLUSTER_COLUMNS} FROM clusters c
       WHERE ${LIVE_CLUSTER} AND c.rancher_id IS NOT NULL AND NOT (c.rancher_id = ANY($2::text[]))`,
      [backendId, seen],
    );
    return rows.map(toSyncCluster);
  }

  /** Live pools of the backend's live clusters named by a page: by Rancher id or by labelled pool id. */
  async poolsNamed(backendId: string, rancherIds: string[], ids: string[]): Promise<SyncPool[]> {
    const rows: SyncPoolRow[] = await this.uow.manager.query(
      `SELECT p.id, p.cluster_id, p.rancher_id, p.quantity, p.state
       FROM node_pools p JOIN clusters c ON c.id = p.cluster_id
       WHERE ${LIVE_POOL} AND (p.rancher_id = ANY($2::text[]) OR p.id = ANY($3::uuid[]))`,
      [backendId, rancherIds, ids],
    );
    return rows.map(toSyncPool);
  }

  /** Live pools of the backend's live clusters created there whose Rancher id is not in `seen`. */
  async poolsNotIn(backendId: string, seen: string[]): Promise<SyncPool[]> {
    const rows: SyncPoolRow[] = await this.uow.manager.query(
      `SELECT p.id, p.cluster_id, p.rancher_id, p.quantity, p.state
       FROM node_pools p JOIN clusters c ON c.id = p.cluster_id
       WHERE ${LIVE_POOL} AND p.rancher_id IS NOT NULL AND NOT (p.rancher_id = ANY($2::text[]))`,
      [backendId, seen],
    );
    return rows.map(toSyncPool);
  }

  /**
   * Paddock's ids for the Rancher ids of a page of nodes: their clusters (live, on this backend)
   * and their pools (live, of those clusters). One round trip.
   */
  async idsForNodes(
    backendId: string,
    clusterRancherIds: string[],
    poolRancherIds: string[],
  ): Promise<{ clusters: Map<string, string>; pools: Map<string, string> }> {
    const rows: Array<{ kind: 'cluster' | 'pool'; id: string; rancher_id: string }> =
      await this.uow.manager.query(
        `SELECT 'cluster' AS kind, c.id, c.rancher_id FROM clusters c
         WHERE ${LIVE_CLUSTER} AND c.rancher_id = ANY($2::text[])
         UNION ALL
         SELECT 'pool', p.id, p.rancher_id FROM node_pools p JOIN clusters c ON c.id = p.cluster_id
         WHERE ${LIVE_POOL} AND p.rancher_id = ANY($3::text[])`,
        [backendId, clusterRancherIds, poolRancherIds],
      );
    const clusters = new Map<string, string>();
    const pools = new Map<string, string>();
    for (const r of rows) (r.kind === 'cluster' ? clusters : pools).set(r.rancher_id, r.id);
    return { clusters, pools };
  }

  /** Writes every cluster's mirrored status and stamps it as confirmed now. */
  async updateClusters(updates: ClusterStatusUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.uow.manager.query(
      // An operation may finish (and set the state) between the sync's read and this write: the
      // state is only replaced when it is still what the sync read, or the operation's result is lost.
      `UPDATE clusters c SET state = CASE WHEN c.state = v.previous_state THEN v.state ELSE c.state END, remote_state = v.remote_state, remote_transitioning = v.remote_transitioning,
         remote_message = v.remote_message, conditions = v.conditions::jsonb, node_count = v.node_count,
         management_id = COALESCE(v.management_id, c.management_id),
         kubernetes_version = COALESCE(v.kubernetes_version, c.kubernetes_version),
         unhealthy_conditions = string_to_array(v.unhealthy, ','),
         status_updated_at = now(),
         updated_at = CASE WHEN c.state = v.previous_state AND c.state IS DISTINCT FROM v.state THEN now() ELSE c.updated_at END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[], $11::text[])
         AS v(id, state, remote_state, remote_transitioning, remote_message, conditions, node_count, previous_state, unhealthy, management_id, kubernetes_version)
       WHERE c.id = v.id AND c.state NOT IN ('deleted', 'failed')`,
      [
        updates.map((u) => u.id),
        updates.map((u) => u.state),
        updates.map((u) => u.remoteState),
        updates.map((u) => u.remoteTransitioning),
        updates.map((u) => u.remoteMessage),
        updates.map((u) => JSON.stringify(u.conditions)),
        updates.map((u) => u.nodeCount),
        updates.map((u) => u.previousState),
        updates.map((u) => u.unhealthyConditions.join(',')),
        updates.map((u) => u.managementId),
        updates.map((u) => u.kubernetesVersion),
      ],
    );
  }

  async updatePools(updates: PoolStatusUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.uow.manager.query(
      `UPDATE node_pools p SET remote_quantity = v.remote_quantity, ready_nodes = v.ready_nodes
       FROM unnest($1::uuid[], $2::int[], $3::int[]) AS v(id, remote_quantity, ready_nodes)
       WHERE p.id = v.id AND (p.remote_quantity IS DISTINCT FROM v.remote_quantity OR p.ready_nodes <> v.ready_nodes)`,
      [updates.map((u) => u.id), updates.map((u) => u.remoteQuantity), updates.map((u) => u.readyNodes)],
    );
  }

  /**
   * Inserts or refreshes a page of mirrored nodes (rows that did not change are not rewritten).
   * `provisioning_since` is set when a node is first seen provisioning and kept until it is not.
   */
  async upsertNodes(nodes: NodeMirror[]): Promise<void> {
    if (nodes.length === 0) return;
    await this.uow.manager.query(
      `INSERT INTO nodes (cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, roles, ip_address,
         conditions, unhealthy_conditions, provisioning_since, source, registration_id)
       SELECT cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, string_to_array(roles, ','), ip_address,
         conditions::jsonb, string_to_array(unhealthy, ','), CASE WHEN provisioning THEN now() END, source,
         -- A label is anyone's to write: it counts only when it names a registration of the node's cluster.
         (SELECT r.id FROM node_registrations r WHERE r.id = v.registration_id AND r.cluster_id = v.cluster_id)
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                   $10::text[], $11::text[], $12::boolean[], $13::text[], $14::uuid[])
         AS v(cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, roles, ip_address,
              conditions, unhealthy, provisioning, source, registration_id)
       ON CONFLICT (rancher_id) DO UPDATE SET node_pool_id = excluded.node_pool_id, hostname = excluded.hostname,
         source = excluded.source, registration_id = coalesce(nodes.registration_id, excluded.registration_id),
         state = excluded.state, transitioning = excluded.transitioning, message = excluded.message,
         roles = excluded.roles, ip_address = excluded.ip_address, conditions = excluded.conditions,
         unhealthy_conditions = excluded.unhealthy_conditions,
         provisioning_since = CASE WHEN excluded.provisioning_since IS NULL THEN NULL
                                   ELSE coalesce(nodes.provisioning_since, excluded.provisioning_since) END,
         updated_at = now()
       WHERE (nodes.state, nodes.transitioning, nodes.message, nodes.hostname, nodes.ip_address, nodes.node_pool_id,
              nodes.conditions, nodes.provisioning_since IS NULL, nodes.source, nodes.registration_id IS NULL)
         IS DISTINCT FROM (excluded.state, excluded.transitioning, excluded.message, excluded.hostname, excluded.ip_address,
              excluded.node_pool_id, excluded.conditions, excluded.provisioning_since IS NULL, excluded.source,
              excluded.registration_id IS NULL AND nodes.registration_id IS NULL)`,
      [
        nodes.map((n) => n.clusterId),
        nodes.map((n) => n.nodePoolId),
        nodes.map((n) => n.rancherId),
        nodes.map((n) => n.hostname),
        nodes.map((n) => n.state),
        nodes.map((n) => n.transitioning),
        nodes.map((n) => n.message),
        nodes.map((n) => n.roles.join(',')),
        nodes.map((n) => n.ipAddress),
        nodes.map((n) => JSON.stringify(n.conditions)),
        nodes.map((n) => n.unhealthyConditions.join(',')),
        nodes.map((n) => n.provisioning),
        nodes.map((n) => n.source),
        nodes.map((n) => n.registrationId),
      ],
    );
  }

  /**
   * Removes the mirrored nodes of the backend's live clusters that the backend no longer lists.
   * Only after a complete listing: `seen` must hold every node id the backend reported.
   */
  async deleteNodesNotIn(backendId: string, seen: string[]): Promise<void> {
    await this.uow.manager.query(
      `DELETE FROM nodes n USING clusters c
       WHERE n.cluster_id = c.id AND ${LIVE_CLUSTER} AND c.rancher_id IS NOT NULL
         AND NOT (n.rancher_id = ANY($2::text[]))`,
      [backendId, seen],
    );
  }

  /**
   * The backend could not be listed: its clusters keep their last status (reads still work) and
   * say so with `BackendReachable=False`; `status_updated_at` is left alone, so it shows the age.
   */
  async markUnreachable(backendId: string, reason: string, message: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE clusters SET conditions =
         (SELECT coalesce(jsonb_agg(c), '[]'::jsonb) FROM jsonb_array_elements(conditions) c WHERE c->>'type' <> 'BackendReachable')
         || jsonb_build_array(jsonb_build_object('type', 'BackendReachable', 'status', 'False', 'reason', $2::text,
              'message', $3::text, 'lastTransitionTime', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
       WHERE backend_id = $1 AND state NOT IN ('deleted', 'failed')
         AND NOT conditions @> '[{"type": "BackendReachable", "status": "False"}]'::jsonb`,
      [backendId, reason, message],
    );
  }
}
