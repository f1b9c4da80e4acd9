import { Injectable, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { UnitOfWork } from '../database/unit-of-work';
import { counter, gauge, histogram } from '../metrics/metrics.module';
import {
  PADDOCK_LABELS,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
} from '../rancher-backends/backend-driver';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import type { ClusterState, NodeRole } from './cluster.dto';
import type { Condition } from './clusters.repository';
import {
  ClusterStatusUpdate,
  NodeMirror,
  PoolStatusUpdate,
  StatusSyncRepository,
  SyncCluster,
  SyncPool,
} from './status-sync.repository';

/** Rancher conditions worth showing users, in our words (the rest is Rancher's business). */
const MIRRORED_CONDITIONS = ['Provisioned', 'Updated', 'Ready'];

export interface SyncReport {
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
  durationMs: number;
}

/** Keeps a condition's transition time when its status did not change. */
function withTransition(previous: Condition[], next: Omit<Condition, 'lastTransitionTime'>): Condition {
  const before = previous.find((c) => c.type === next.type);
  const now = new Date().toISOString();
  const time = before && before.status === next.status ? (before.lastTransitionTime ?? now) : now;
  return Object.fromEntries(
    Object.entries({ ...next, lastTransitionTime: time }).filter(([, v]) => v !== undefined),
  ) as unknown as Condition;
}

const ROLE_NAMES: Array<[keyof RemoteNode['roles'], NodeRole]> = [
  ['etcd', 'etcd'],
  ['controlPlane', 'controlplane'],
  ['worker', 'worker'],
];

/**
 * Mirrors one backend into Postgres: three paged lists (clusters, pools, nodes), then one
 * transaction of set-based writes. Users' reads are served from what this writes; drift it finds
 * becomes a condition, a metric and a line in the backend's sync report.
 */
@Injectable()
export class StatusSyncService {
  private readonly logger = new Logger(StatusSyncService.name);
  /** The drift last logged per backend: the same drift found again is not logged again. */
  private readonly loggedDrift = new Map<string, string>();
  private readonly drift;
  private readonly runs;
  private readonly duration;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly repository: StatusSyncRepository,
    registry: Registry,
  ) {
    this.drift = gauge(registry, {
      name: 'paddock_drift_objects',
      help: 'Objects found out of step with Paddock at the last sync, by backend and kind.',
      labelNames: ['backend', 'kind'],
    });
    this.runs = counter(registry, {
      name: 'paddock_sync_runs_total',
      help: 'Status sync cycles, by backend and outcome.',
      labelNames: ['backend', 'outcome'],
    });
    this.duration = histogram(registry, {
      name: 'paddock_sync_duration_seconds',
      help: 'Wall time of one status sync cycle.',
      labelNames: ['backend'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  /** One cycle for one backend; returns null when the backend could not be listed. */
  async syncBackend(backendId: string): Promise<SyncReport | null> {
    const started = Date.now();
    const backend = await this.backends.findById(backendId);
    if (!backend) return null;
    const driver = this.drivers.forBackend(backend);
    let remoteClusters: RemoteCluster[];
    let remotePools: RemoteNodePool[];
    let remoteNodes: RemoteNode[];
    try {
      remoteClusters = await driver.listAllClusters();
      remotePools = await driver.listAllNodePools();
      remoteNodes = await driver.listAllNodes();
    } catch (error) {
      if (!isBackendError(error)) throw error;
      const message = `listing the backend failed: ${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}`;
      await this.uow.run(async () => {
        await this.repository.markUnreachable(backend.id, error.kind, message);
        await this.backends.recordSync(backend.id, { ok: false, error: message });
      });
      this.runs.inc({ backend: backend.name, outcome: 'unreachable' });
      this.logger.warn({ backend: backend.name, kind: error.kind }, message);
      return null;
    }

    const report = await this.uow.run(async () => {
      const clusters = await this.repository.liveClusters(backend.id);
      const pools = await this.repository.livePools(clusters.map((c) => c.id));
      const plan = this.plan(backend.name, clusters, pools, remoteClusters, remotePools, remoteNodes);
      await this.repository.updateClusters(plan.clusters);
      await this.repository.updatePools(plan.pools);
      await this.repository.mirrorNodes(plan.mirroredClusterIds, plan.nodes);
      const result: SyncReport = { ...plan.report, durationMs: Date.now() - started };
      await this.backends.recordSync(backend.id, {
        ok: true,
        report: { ...result, at: new Date().toISOString() },
      });
      return result;
    });

    this.drift.set({ backend: backend.name, kind: 'missing-cluster' }, report.missingClusters.length);
    this.drift.set({ backend: backend.name, kind: 'scaled-pool' }, report.scaledPools.length);
    this.drift.set({ backend: backend.name, kind: 'unknown-cluster' }, report.unknownClusters.length);
    this.drift.set({ backend: backend.name, kind: 'unknown-pool' }, report.unknownPools.length);
    this.runs.inc({ backend: backend.name, outcome: 'ok' });
    this.duration.observe({ backend: backend.name }, report.durationMs / 1000);
    // Drift persists across cycles until someone acts: the gauges above show it every cycle,
    // the log says when it appears, changes or goes away (not once per cycle).
    const { missingClusters, scaledPools, unknownClusters, unknownPools } = report;
    const drift = JSON.stringify([missingClusters, scaledPools, unknownClusters, unknownPools]);
    if (drift !== (this.loggedDrift.get(backend.name) ?? JSON.stringify([[], [], [], []]))) {
      this.loggedDrift.set(backend.name, drift);
      if (missingClusters.length + scaledPools.length + unknownClusters.length + unknownPools.length > 0)
        this.logger.warn({ ...report }, `drift on backend ${backend.name}`);
      else this.logger.log({ backend: backend.name }, `no more drift on backend ${backend.name}`);
    }
    return report;
  }

  /** Pure: from what Postgres holds and what the backend reported, the writes to make. */
  private plan(
    backendName: string,
    clusters: SyncCluster[],
    pools: SyncPool[],
    remoteClusters: RemoteCluster[],
    remotePools: RemoteNodePool[],
    remoteNodes: RemoteNode[],
  ) {
    const managed = (labels: Record<string, string>) => labels[PADDOCK_LABELS.managed] === 'true';
    const remoteClusterById = new Map(remoteClusters.map((c) => [c.id, c]));
    const remotePoolById = new Map(remotePools.map((p) => [p.id, p]));
    const liveClusterIds = new Set(clusters.map((c) => c.id));
    const livePoolIds = new Set(pools.map((p) => p.id));
    const poolIdByRancherId = new Map(
      pools.filter((p) => p.rancherId).map((p) => [p.rancherId as string, p.id]),
    );
    const clusterIdByRancherId = new Map(
      clusters.filter((c) => c.rancherId).map((c) => [c.rancherId as string, c.id]),
    );

    const activeNodesByPool = new Map<string, number>();
    const nodesByCluster = new Map<string, number>();
    const nodes: NodeMirror[] = [];
    for (const node of remoteNodes) {
      const clusterId = clusterIdByRancherId.get(node.clusterId);
      if (!clusterId) continue;
      nodesByCluster.set(node.clusterId, (nodesByCluster.get(node.clusterId) ?? 0) + 1);
      if (node.nodePoolId && node.state === 'active') {
        activeNodesByPool.set(node.nodePoolId, (activeNodesByPool.get(node.nodePoolId) ?? 0) + 1);
      }
      nodes.push({
        clusterId,
        nodePoolId: node.nodePoolId ? (poolIdByRancherId.get(node.nodePoolId) ?? null) : null,
        rancherId: node.id,
        hostname: node.hostname,
        state: node.state,
        transitioning: node.transitioning,
        message: node.message,
        roles: ROLE_NAMES.filter(([flag]) => node.roles[flag]).map(([, role]) => role),
        ipAddress: node.ipAddress,
      });
    }

    const scaledPools: string[] = [];
    const poolUpdates: PoolStatusUpdate[] = [];
    const poolDriftByCluster = new Map<string, string[]>();
    for (const pool of pools) {
      if (!pool.rancherId) continue;
      const remote = remotePoolById.get(pool.rancherId);
      poolUpdates.push({
        id: pool.id,
        remoteQuantity: remote?.quantity ?? null,
        readyNodes: activeNodesByPool.get(pool.rancherId) ?? 0,
      });
      // Only a pool at rest can drift: during a scale the two quantities differ on purpose.
      if (pool.state !== 'active') continue;
      const problem = !remote
        ? `pool ${pool.rancherId} is missing on the backend`
        : remote.quantity !== pool.quantity
          ? `pool quantity is ${remote.quantity} on the backend, ${pool.quantity} in Paddock`
          : null;
      if (problem) {
        scaledPools.push(pool.id);
        poolDriftByCluster.set(pool.clusterId, [...(poolDriftByCluster.get(pool.clusterId) ?? []), problem]);
      }
    }

    const missingClusters: string[] = [];
    const clusterUpdates: ClusterStatusUpdate[] = [];
    const mirroredClusterIds: string[] = [];
    for (const cluster of clusters) {
      if (!cluster.rancherId) continue; // not created on the backend yet: nothing to mirror
      mirroredClusterIds.push(cluster.id);
      const remote = remoteClusterById.get(cluster.rancherId);
      const missing = !remote && cluster.state !== 'deleting';
      if (missing) missingClusters.push(cluster.id);
      const poolDrift = poolDriftByCluster.get(cluster.id) ?? [];
      const conditions: Condition[] = [
        ...MIRRORED_CONDITIONS.map((type) => {
          const c = remote?.conditions.find((rc) => rc.type === type);
          return withTransition(cluster.conditions, {
            type,
            status: c?.status ?? 'Unknown',
            reason: c?.reason || undefined,
            message: c?.message || undefined,
          });
        }),
        withTransition(cluster.conditions, { type: 'BackendReachable', status: 'True' }),
        withTransition(
          cluster.conditions,
          missing
            ? {
                type: 'InSync',
                status: 'False',
                reason: 'MissingOnBackend',
                message: 'the cluster no longer exists on its backend',
              }
            : poolDrift.length > 0
              ? { type: 'InSync', status: 'False', reason: 'NodePoolDrift', message: poolDrift.join('; ') }
              : { type: 'InSync', status: 'True' },
        ),
      ];
      clusterUpdates.push({
        id: cluster.id,
        previousState: cluster.state,
        state: this.restingState(cluster, remote, missing),
        remoteState: remote?.state ?? null,
        remoteTransitioning: remote?.transitioning ?? null,
        remoteMessage: remote?.message ?? null,
        conditions,
        nodeCount: nodesByCluster.get(cluster.rancherId) ?? 0,
      });
    }

    const unknownClusters = remoteClusters
      .filter(
        (c) => managed(c.labels) && !c.removing && !liveClusterIds.has(c.labels[PADDOCK_LABELS.clusterId]),
      )
      .map((c) => c.id);
    const removingClusters = new Set(remoteClusters.filter((c) => c.removing).map((c) => c.id));
    const rancherIdByPoolId = new Map(pools.map((p) => [p.id, p.rancherId]));
    // A second pool labelled with a live pool's id (a create that timed out and landed after the
    // retry created another) is as much an orphan as one with no record at all.
    const isUnknownPool = (p: RemoteNodePool) => {
      const own = p.labels[PADDOCK_LABELS.poolId] ?? '';
      if (!livePoolIds.has(own)) return true;
      const recorded = rancherIdByPoolId.get(own);
      return recorded !== null && recorded !== undefined && recorded !== p.id;
    };
    const unknownPools = remotePools
      .filter((p) => managed(p.labels) && p.state !== 'removing' && isUnknownPool(p))
      // A pool of an unknown or departing cluster is accounted for with its cluster.
      .filter((p) => !removingClusters.has(p.clusterId) && !unknownClusters.includes(p.clusterId))
      .map((p) => p.id);

    return {
      clusters: clusterUpdates,
      pools: poolUpdates,
      nodes,
      mirroredClusterIds,
      report: {
        backend: backendName,
        clusters: clusterUpdates.length,
        nodes: nodes.length,
        missingClusters,
        scaledPools,
        unknownClusters,
        unknownPools,
      },
    };
  }

  /**
   * While an operation runs it owns the cluster's state; at rest the state follows the backend:
   * active when Rancher says so, error when it reports an error, is unavailable or lost the cluster.
   */
  private restingState(
    cluster: SyncCluster,
    remote: RemoteCluster | undefined,
    missing: boolean,
  ): ClusterState {
    if (cluster.hasActiveOperation || !['active', 'updating', 'error'].includes(cluster.state))
      return cluster.state;
    if (missing || !remote) return 'error';
    if (remote.transitioning === 'error' || remote.state === 'unavailable') return 'error';
    if (remote.state === 'active') return 'active';
    if (remote.state === 'updating' || remote.state === 'upgrading') return 'updating';
    return cluster.state;
  }
}
