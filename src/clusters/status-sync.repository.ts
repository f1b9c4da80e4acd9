import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { ClusterState } from './cluster.dto';
import type { Condition } from './clusters.repository';

export interface SyncCluster {
  id: string;
  rancherId: string | null;
  state: ClusterState;
  conditions: Condition[];
  hasActiveOperation: boolean;
}

export interface SyncPool {
  id: string;
  clusterId: string;
  rancherId: string | null;
  quantity: number;
  state: string;
}

export interface ClusterStatusUpdate {
  id: string;
  /** The state the sync read; the new one is written only if nobody changed it meanwhile. */
  previousState: ClusterState;
  state: ClusterState;
  remoteState: string | null;
  remoteTransitioning: string | null;
  remoteMessage: string | null;
  conditions: Condition[];
  nodeCount: number;
}

export interface PoolStatusUpdate {
  id: string;
  remoteQuantity: number | null;
  readyNodes: number;
}

export interface NodeMirror {
  clusterId: string;
  nodePoolId: string | null;
  rancherId: string;
  hostname: string;
  state: string;
  transitioning: string;
  message: string;
  roles: string[];
  ipAddress: string | null;
}

/**
 * The status sync's reads and writes. Each write is one statement over arrays, so the cost of a
 * cycle in statements is constant, whatever the number of clusters on the backend.
 */
@Injectable()
export class StatusSyncRepository {
  constructor(private readonly uow: UnitOfWork) {}

  async liveClusters(backendId: string): Promise<SyncCluster[]> {
    const rows: Array<{
      id: string;
      rancher_id: string | null;
      state: ClusterState;
      conditions: Condition[];
      active: boolean;
    }> = await this.uow.manager.query(
      `SELECT c.id, c.rancher_id, c.state, c.conditions,
           EXISTS (SELECT 1 FROM operations o WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running')) AS active
         FROM clusters c WHERE c.backend_id = $1 AND c.state NOT IN ('deleted', 'failed')`,
      [backendId],
    );
    return rows.map((r) => ({
      id: r.id,
      rancherId: r.rancher_id,
      state: r.state,
      conditions: r.conditions,
      hasActiveOperation: r.active,
    }));
  }

  async livePools(clusterIds: string[]): Promise<SyncPool[]> {
    if (clusterIds.length === 0) return [];
    const rows: Array<{
      id: string;
      cluster_id: string;
      rancher_id: string | null;
      quantity: number;
      state: string;
    }> = await this.uow.manager.query(
      `SELECT id, cluster_id, rancher_id, quantity, state FROM node_pools
         WHERE cluster_id = ANY($1::uuid[]) AND state NOT IN ('deleted', 'failed')`,
      [clusterIds],
    );
    return rows.map((r) => ({
      id: r.id,
      clusterId: r.cluster_id,
      rancherId: r.rancher_id,
      quantity: r.quantity,
      state: r.state,
    }));
  }

  /** Writes every cluster's mirrored status and stamps it as confirmed now. */
  async updateClusters(updates: ClusterStatusUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    await this.uow.manager.query(
      // An operation may finish (and set the state) between the sync's read and this write: the
      // state is only replaced when it is still what the sync read, or the operation's result is lost.
      `UPDATE clusters c SET state = CASE WHEN c.state = v.previous_state THEN v.state ELSE c.state END, remote_state = v.remote_state, remote_transitioning = v.remote_transitioning,
         remote_message = v.remote_message, conditions = v.conditions::jsonb, node_count = v.node_count,
         status_updated_at = now(),
         updated_at = CASE WHEN c.state = v.previous_state AND c.state IS DISTINCT FROM v.state THEN now() ELSE c.updated_at END
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])
         AS v(id, state, remote_state, remote_transitioning, remote_message, conditions, node_count, previous_state)
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

  /** Replaces the mirrored nodes of the given clusters with what the backend reported. */
  async mirrorNodes(clusterIds: string[], nodes: NodeMirror[]): Promise<void> {
    if (clusterIds.length === 0) return;
    await this.uow.manager.query(
      `DELETE FROM nodes WHERE cluster_id = ANY($1::uuid[]) AND NOT (rancher_id = ANY($2::text[]))`,
      [clusterIds, nodes.map((n) => n.rancherId)],
    );
    if (nodes.length === 0) return;
    await this.uow.manager.query(
      `INSERT INTO nodes (cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, roles, ip_address)
       SELECT cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, string_to_array(roles, ','), ip_address
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         AS v(cluster_id, node_pool_id, rancher_id, hostname, state, transitioning, message, roles, ip_address)
       ON CONFLICT (rancher_id) DO UPDATE SET node_pool_id = excluded.node_pool_id, hostname = excluded.hostname,
         state = excluded.state, transitioning = excluded.transitioning, message = excluded.message,
         roles = excluded.roles, ip_address = excluded.ip_address, updated_at = now()
       WHERE (nodes.state, nodes.transitioning, nodes.message, nodes.hostname, nodes.ip_address, nodes.node_pool_id)
         IS DISTINCT FROM (excluded.state, excluded.transitioning, excluded.message, excluded.hostname, excluded.ip_address, excluded.node_pool_id)`,
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
      ],
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
