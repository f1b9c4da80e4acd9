/**
 * The status sync's diff, page by page and free of I/O: given one page of what the backend listed
 * and the Postgres rows that page names, the writes to make; across pages, the few tallies the
 * later lists need (node counts for pools and clusters, pool drift for clusters) and the drift
 * report. The service feeds it nodes, then pools, then clusters, and finally the rows no page
 * named (objects missing on the backend).
 */
import {
  PADDOCK_LABELS,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
} from '../rancher-backends/backend-driver';
import type { ClusterState, Condition, NodeRole } from './cluster.types';
import { unhealthyConditions } from './condition-health';
import {
  MIRRORED_CONDITIONS,
  mirroredCondition,
  PADDOCK_CONDITIONS,
  withTransition,
} from './status-sync.conditions';

/** A live cluster of the backend, as the sync needs it. */
export interface SyncCluster {
  id: string;
  rancherId: string | null;
  state: ClusterState;
  conditions: Condition[];
  hasActiveOperation: boolean;
}

/** A live pool of a live cluster of the backend. */
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
  /** Names of the conditions that are not healthy (see condition-health.ts), for the gauges. */
  unhealthyConditions: string[];
  nodeCount: number;
  /** The management cluster's id as the backend reports it (null: not known, kept as it was). */
  managementId: string | null;
  /** The version the backend reports the cluster runs (null: not known now, kept as it was). */
  kubernetesVersion: string | null;
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
  roles: NodeRole[];
  ipAddress: string | null;
  conditions: Condition[];
  unhealthyConditions: string[];
  provisioning: boolean;
  /** `registered` for a node of no pool (an own server joined with a join command). */
  source: 'pool' | 'registered';
  /** The registration its label names, when well formed (the repository checks it is the cluster's). */
  registrationId: string | null;
}

/** What one cycle found, stored on the backend row and shown to admins. */
export interface DriftReport {
  backend: string;
  clusters: number;
  nodes: number;
  /** Managed clusters whose backend object is gone. */
  missingClusters: string[];
  /** Pools whose quantity on the backend differs from Paddock's. */
  scaledPools: string[];
  /** Objects labelled as Paddock's that match no live record (orphans). */
  unknownClusters: string[];
  unknownPools: string[];
  /**
   * Registered nodes no registration counts (`<cluster id>/<hostname>`): joined beyond their
   * registration's count, after it closed, or with no registration of their cluster.
   */
  unregisteredNodes?: string[];
}

const ROLE_NAMES: Array<[keyof RemoteNode['roles'], NodeRole]> = [
  ['etcd', 'etcd'],
  ['controlPlane', 'controlplane'],
  ['worker', 'worker'],
];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const isManaged = (labels: Record<string, string>) => labels[PADDOCK_LABELS.managed] === 'true';

/**
 * The Paddock ids a page's labels claim, for looking them up: only well-formed ones (a label is
 * anyone's to write, and a malformed id cannot name a record anyway).
 */
export function labelledIds(items: Array<{ labels: Record<string, string> }>, key: string): string[] {
  return items
    .filter((i) => isManaged(i.labels) && UUID.test(i.labels[key] ?? ''))
    .map((i) => i.labels[key].toLowerCase());
}

/**
 * While an operation runs it owns the cluster's state; at rest the state follows the backend:
 * active when Rancher says so, error when it reports an error, is unavailable or lost the cluster.
 */
export function restingState(cluster: SyncCluster, remote: RemoteCluster | undefined): ClusterState {
  if (cluster.hasActiveOperation || !['active', 'updating', 'error'].includes(cluster.state))
    return cluster.state;
  if (!remote) return 'error';
  if (remote.transitioning === 'error' || remote.state === 'unavailable') return 'error';
  if (remote.state === 'active') return 'active';
  if (remote.state === 'updating' || remote.state === 'upgrading') return 'updating';
  return cluster.state;
}

/**
 * One cycle's diff. Memory grows with the number of objects only through ids and counters (a few
 * dozen bytes each); the objects themselves are seen one page at a time.
 */
export class SyncDiff {
  /** Rancher node ids seen, so nodes no page listed can be removed at the end. */
  readonly seenNodeIds: string[] = [];
  readonly seenPoolIds = new Set<string>();
  readonly seenClusterIds = new Set<string>();

  private readonly nodesByCluster = new Map<string, number>();
  private readonly activeNodesByPool = new Map<string, number>();
  private readonly poolDriftByCluster = new Map<string, string[]>();
  private readonly removingClusters = new Set<string>();
  private readonly unknownPoolCandidates: Array<{ id: string; clusterId: string }> = [];
  private readonly missingClusters: string[] = [];
  private readonly scaledPools: string[] = [];
  private readonly unknownClusters: string[] = [];
  private readonly unregistered: string[] = [];
  /** Hostnames of registered nodes no registration counts, by Paddock cluster id. */
  private readonly nodeDriftByCluster = new Map<string, string[]>();
  private mirroredNodes = 0;
  private updatedClusters = 0;

  constructor(private readonly now: string = new Date().toISOString()) {}

  /**
   * A page of nodes → the node rows to write. `clusterIds` and `poolIds` map the Rancher ids the
   * page names to Paddock's (live clusters of this backend and their live pools).
   */
  nodes(page: RemoteNode[], clusterIds: Map<string, string>, poolIds: Map<string, string>): NodeMirror[] {
    const rows: NodeMirror[] = [];
    for (const node of page) {
      this.seenNodeIds.push(node.id);
      const clusterId = clusterIds.get(node.clusterId);
      if (!clusterId) continue;
      this.nodesByCluster.set(node.clusterId, (this.nodesByCluster.get(node.clusterId) ?? 0) + 1);
      if (node.nodePoolId && node.state === 'active') {
        this.activeNodesByPool.set(node.nodePoolId, (this.activeNodesByPool.get(node.nodePoolId) ?? 0) + 1);
      }
      rows.push({
        clusterId,
        nodePoolId: node.nodePoolId ? (poolIds.get(node.nodePoolId) ?? null) : null,
        rancherId: node.id,
        hostname: node.hostname,
        state: node.state,
        transitioning: node.transitioning,
        message: node.message,
        roles: ROLE_NAMES.filter(([flag]) => node.roles[flag]).map(([, role]) => role),
        ipAddress: node.ipAddress,
        conditions: node.conditions.map(mirroredCondition),
        unhealthyConditions: unhealthyConditions(node.conditions),
        provisioning: node.provisioning,
        source: node.nodePoolId ? 'pool' : 'registered',
        registrationId:
          !node.nodePoolId && UUID.test(node.registrationId ?? '')
            ? node.registrationId!.toLowerCase()
            : null,
      });
    }
    this.mirroredNodes += rows.length;
    return rows;
  }

  /**
   * A page of pools → their status updates. `known` holds the live pools the page names, by
   * Rancher id or by their label's pool id (the latter to tell a duplicate from the real one).
   */
  pools(page: RemoteNodePool[], known: SyncPool[]): PoolStatusUpdate[] {
    const byRancherId = new Map(known.filter((p) => p.rancherId).map((p) => [p.rancherId as string, p]));
    const byId = new Map(known.map((p) => [p.id, p]));
    const updates: PoolStatusUpdate[] = [];
    for (const remote of page) {
      this.seenPoolIds.add(remote.id);
      const pool = byRancherId.get(remote.id);
      if (pool) updates.push(this.poolUpdate(pool, remote));
      if (!isManaged(remote.labels) || remote.state === 'removing') continue;
      // A second pool labelled with a live pool's id (a create that timed out and landed after the
      // retry created another) is as much an orphan as one with no record at all.
      const own = byId.get((remote.labels[PADDOCK_LABELS.poolId] ?? '').toLowerCase());
      if (!own || (own.rancherId !== null && own.rancherId !== remote.id)) {
        this.unknownPoolCandidates.push({ id: remote.id, clusterId: remote.clusterId });
      }
    }
    return updates;
  }

  /** Live pools with a Rancher id that no page listed: gone from the backend. */
  missingPools(pools: SyncPool[]): PoolStatusUpdate[] {
    return pools
      .filter((p) => p.rancherId && !this.seenPoolIds.has(p.rancherId))
      .map((p) => this.poolUpdate(p));
  }

  /**
   * A page of clusters → their status updates. `known` holds the live clusters of the backend the
   * page names, by Rancher id or by their label's cluster id.
   */
  clusters(page: RemoteCluster[], known: SyncCluster[]): ClusterStatusUpdate[] {
    const byRancherId = new Map(known.filter((c) => c.rancherId).map((c) => [c.rancherId as string, c]));
    const liveIds = new Set(known.map((c) => c.id));
    const updates: ClusterStatusUpdate[] = [];
    for (const remote of page) {
      this.seenClusterIds.add(remote.id);
      if (remote.removing) this.removingClusters.add(remote.id);
      const cluster = byRancherId.get(remote.id);
      if (cluster) updates.push(this.clusterUpdate(cluster, remote));
      const own = (remote.labels[PADDOCK_LABELS.clusterId] ?? '').toLowerCase();
      if (isManaged(remote.labels) && !remote.removing && !liveIds.has(own))
        this.unknownClusters.push(remote.id);
    }
    return updates;
  }

  /** Live clusters with a Rancher id that no page listed: gone from the backend. */
  missingClusterUpdates(clusters: SyncCluster[]): ClusterStatusUpdate[] {
    return clusters
      .filter((c) => c.rancherId && !this.seenClusterIds.has(c.rancherId))
      .map((c) => this.clusterUpdate(c, undefined));
  }

  /**
   * Registered nodes that no registration counts. Each is drift on its cluster too (`InSync`
   * False, reason `UnregisteredNodes`), so its owners see it, not only the admins.
   */
  unregisteredNodes(nodes: Array<{ clusterId: string; hostname: string }>): void {
    for (const node of nodes) {
      this.unregistered.push(`${node.clusterId}/${node.hostname}`);
      this.nodeDriftByCluster.set(node.clusterId, [
        ...(this.nodeDriftByCluster.get(node.clusterId) ?? []),
        node.hostname,
      ]);
    }
  }

  report(backend: string): DriftReport {
    const unknownClusters = new Set(this.unknownClusters);
    return {
      backend,
      clusters: this.updatedClusters,
      nodes: this.mirroredNodes,
      missingClusters: [...this.missingClusters],
      scaledPools: [...this.scaledPools],
      unknownClusters: [...this.unknownClusters],
      unregisteredNodes: [...this.unregistered],
      // A pool of an unknown or departing cluster is accounted for with its cluster.
      unknownPools: this.unknownPoolCandidates
        .filter((p) => !this.removingClusters.has(p.clusterId) && !unknownClusters.has(p.clusterId))
        .map((p) => p.id),
    };
  }

  private poolUpdate(pool: SyncPool, remote?: RemoteNodePool): PoolStatusUpdate {
    const rancherId = pool.rancherId as string;
    // Only a pool at rest can drift: during a scale the two quantities differ on purpose.
    if (pool.state === 'active') {
      const problem = !remote
        ? `pool ${rancherId} is missing on the backend`
        : remote.quantity !== pool.quantity
          ? `pool quantity is ${remote.quantity} on the backend, ${pool.quantity} in Paddock`
          : null;
      if (problem) {
        this.scaledPools.push(pool.id);
        this.poolDriftByCluster.set(pool.clusterId, [
          ...(this.poolDriftByCluster.get(pool.clusterId) ?? []),
          problem,
        ]);
      }
    }
    return {
      id: pool.id,
      remoteQuantity: remote?.quantity ?? null,
      readyNodes: this.activeNodesByPool.get(rancherId) ?? 0,
    };
  }

  private clusterUpdate(cluster: SyncCluster, remote: RemoteCluster | undefined): ClusterStatusUpdate {
    const rancherId = cluster.rancherId as string;
    const missing = !remote && cluster.state !== 'deleting';
    if (missing) this.missingClusters.push(cluster.id);
    this.updatedClusters++;
    const poolDrift = this.poolDriftByCluster.get(cluster.id) ?? [];
    const nodeDrift = this.nodeDriftByCluster.get(cluster.id) ?? [];
    const transition = (next: Omit<Condition, 'lastTransitionTime'>) =>
      withTransition(cluster.conditions, next, this.now);
    const conditions: Condition[] = [
      ...MIRRORED_CONDITIONS.map((type) => {
        const c = remote?.conditions.find((rc) => rc.type === type);
        return transition({
          type,
          status: c?.status ?? 'Unknown',
          reason: c?.reason || undefined,
          message: c?.message || undefined,
        });
      }),
      ...(remote?.conditions ?? [])
        .filter((c) => !MIRRORED_CONDITIONS.includes(c.type) && !PADDOCK_CONDITIONS.has(c.type))
        .map((c) =>
          transition({
            type: c.type,
            status: c.status,
            reason: c.reason || undefined,
            message: c.message || undefined,
          }),
        ),
      transition({ type: 'BackendReachable', status: 'True' }),
      transition(
        missing
          ? {
              type: 'InSync',
              status: 'False',
              reason: 'MissingOnBackend',
              message: 'the cluster no longer exists on its backend',
            }
          : poolDrift.length > 0
            ? { type: 'InSync', status: 'False', reason: 'NodePoolDrift', message: poolDrift.join('; ') }
            : nodeDrift.length > 0
              ? {
                  type: 'InSync',
                  status: 'False',
                  reason: 'UnregisteredNodes',
                  message: `nodes joined beyond their registration (not counted): ${nodeDrift.join(', ')}`,
                }
              : { type: 'InSync', status: 'True' },
      ),
    ];
    return {
      id: cluster.id,
      previousState: cluster.state,
      state: restingState(cluster, remote),
      remoteState: remote?.state ?? null,
      remoteTransitioning: remote?.transitioning ?? null,
      remoteMessage: remote?.message ?? null,
      conditions,
      unhealthyConditions: unhealthyConditions(conditions),
      nodeCount: this.nodesByCluster.get(rancherId) ?? 0,
      managementId: remote?.managementId ?? null,
      kubernetesVersion: remote?.kubernetesVersion ?? null,
    };
  }
}
