import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { Condition, NodeRecord, NodeRole } from './cluster.types';

/** A `nodes` row with its pool's name. */
interface NodeRow {
  id: string;
  cluster_id: string;
  node_pool_id: string | null;
  node_pool_name: string | null;
  source: 'pool' | 'registered';
  registration_id: string | null;
  rancher_id: string;
  hostname: string;
  state: string;
  transitioning: string;
  message: string;
  roles: NodeRole[];
  ip_address: string | null;
  conditions: Condition[];
  updated_at: Date;
}

const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id,
  clusterId: r.cluster_id,
  nodePoolId: r.node_pool_id,
  nodePoolName: r.node_pool_name,
  source: r.source,
  registrationId: r.registration_id,
  rancherId: r.rancher_id,
  hostname: r.hostname,
  state: r.state,
  transitioning: r.transitioning,
  message: r.message,
  roles: r.roles,
  ipAddress: r.ip_address,
  conditions: r.conditions,
  updatedAt: r.updated_at,
});

/** The mirrored `nodes` of clusters, as the API lists them and node replacement reads them. */
@Injectable()
export class NodesRepository {
  constructor(private readonly uow: UnitOfWork) {}

  async nodes(
    clusterId: string,
    limit: number,
    after: { hostname: string; id: string } | null,
  ): Promise<NodeRecord[]> {
    const rows: NodeRow[] = await this.uow.manager.query(
      `SELECT n.*, p.name AS node_pool_name FROM nodes n LEFT JOIN node_pools p ON p.id = n.node_pool_id
       WHERE n.cluster_id = $1 AND ($2::text IS NULL OR (n.hostname, n.id) > ($2, $3::uuid))
       ORDER BY n.hostname, n.id LIMIT $4`,
      [clusterId, after?.hostname ?? null, after?.id ?? null, limit + 1],
    );
    return rows.map(toNode);
  }

  /**
   * The node `key` names in the cluster: its Paddock id, else its hostname (a live node before one
   * being removed, when a replacement reuses the name, as RKE1 pools do).
   */
  async findNode(clusterId: string, key: string): Promise<NodeRecord | null> {
    const rows: NodeRow[] = await this.uow.manager.query(
      `SELECT n.*, p.name AS node_pool_name FROM nodes n LEFT JOIN node_pools p ON p.id = n.node_pool_id
       WHERE n.cluster_id = $1 AND (n.hostname = $2 OR n.id::text = $2)
       ORDER BY (n.id::text = $2) DESC, (n.state = 'removing'), n.updated_at DESC LIMIT 1`,
      [clusterId, key],
    );
    return rows.length > 0 ? toNode(rows[0]) : null;
  }

  /** Every mirrored node of a cluster (for the quorum check of a replacement). */
  async nodesOf(clusterId: string): Promise<NodeRecord[]> {
    const rows: NodeRow[] = await this.uow.manager.query(
      `SELECT n.*, p.name AS node_pool_name FROM nodes n LEFT JOIN node_pools p ON p.id = n.node_pool_id
       WHERE n.cluster_id = $1 ORDER BY n.hostname, n.id`,
      [clusterId],
    );
    return rows.map(toNode);
  }

  /** Whether the backend still lists a node (by its Rancher id) in the cluster's mirror. */
  async hasNode(clusterId: string, rancherId: string): Promise<boolean> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT 1 FROM nodes WHERE cluster_id = $1 AND rancher_id = $2`,
      [clusterId, rancherId],
    );
    return rows.length > 0;
  }
}
