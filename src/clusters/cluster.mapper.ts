import type { NewOperation, OperationRecord } from '../operations/operation.types';
import type { ClusterDto, NodeDto, NodePoolDto } from './cluster.dto';
import type { ClusterRecord, NewCluster, NewNodePool, NodePoolRecord, NodeRecord } from './cluster.types';
import type { ClusterAcceptedDto, OperationDto } from './operation.dto';

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toNodePoolDto = (p: NodePoolRecord): NodePoolDto => ({
  id: p.id,
  name: p.name,
  roles: p.roles,
  flavor: p.flavor,
  quantity: p.quantity,
  observedQuantity: p.remoteQuantity,
  readyNodes: p.readyNodes,
  state: p.state,
  createdAt: p.createdAt.toISOString(),
});

export const toClusterDto = (c: ClusterRecord, pools: NodePoolRecord[]): ClusterDto => ({
  id: c.id,
  name: c.name,
  project: c.projectName,
  state: c.state,
  kubernetesVersion: c.kubernetesVersion,
  region: c.region,
  labels: c.labels,
  nodePools: pools.filter((p) => p.clusterId === c.id).map(toNodePoolDto),
  conditions: c.conditions,
  nodeCount: c.nodeCount,
  statusUpdatedAt: iso(c.statusUpdatedAt),
  activeOperationId: c.activeOperationId,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

export const toNodeDto = (n: NodeRecord): NodeDto => ({
  id: n.id,
  hostname: n.hostname,
  nodePool: n.nodePoolName,
  roles: n.roles,
  state: n.state,
  transitioning: n.transitioning,
  message: n.message,
  ipAddress: n.ipAddress,
  updatedAt: n.updatedAt.toISOString(),
});

export const toOperationDto = (o: OperationRecord): OperationDto => ({
  id: o.id,
  type: o.type,
  state: o.state,
  project: o.projectName,
  cluster: o.clusterName,
  clusterId: o.clusterId,
  nodePool: o.nodePoolName,
  steps: o.steps.map((s) => ({
    name: s.label,
    state: s.state,
    attempts: s.attempts,
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    lastError: s.lastError,
  })),
  error:
    o.state === 'failed' || o.phase === 'compensating'
      ? { code: o.errorCode ?? 'UNKNOWN', message: o.errorMessage ?? '' }
      : null,
  deadlineAt: o.deadlineAt.toISOString(),
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
  finishedAt: iso(o.finishedAt),
});

/** What a create's transaction wrote, all stamped with its `now()`. */
export interface RecordedCreate {
  projectName: string;
  cluster: NewCluster;
  pools: NewNodePool[];
  operation: NewOperation;
  createdAt: Date;
}

/**
 * The 202 answer of a create, built from what the transaction wrote rather than read back: the
 * create's contended rows are already released, and four queries fewer per create is measurable.
 */
export function toCreateAcceptedDto(recorded: RecordedCreate): ClusterAcceptedDto {
  const at = recorded.createdAt;
  const cluster: ClusterRecord = {
    ...recorded.cluster,
    projectName: recorded.projectName,
    rancherId: null,
    state: 'provisioning',
    remoteState: null,
    remoteTransitioning: null,
    remoteMessage: null,
    conditions: [],
    nodeCount: 0,
    statusUpdatedAt: null,
    activeOperationId: recorded.operation.id,
    createdAt: at,
    updatedAt: at,
  };
  const pools: NodePoolRecord[] = recorded.pools.map((p) => ({
    ...p,
    remoteQuantity: null,
    readyNodes: 0,
    rancherId: null,
    state: 'provisioning',
    createdAt: at,
  }));
  const operation: OperationRecord = {
    ...recorded.operation,
    projectName: recorded.projectName,
    clusterName: cluster.name,
    nodePoolName: null,
    state: 'pending',
    phase: 'forward',
    errorCode: null,
    errorMessage: null,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    finishedAt: null,
    steps: recorded.operation.steps.map((step, position) => ({
      ...step,
      position,
      phase: 'forward',
      state: 'pending',
      attempts: 0,
      startedAt: null,
      finishedAt: null,
      lastError: null,
      lastErrorCode: null,
    })),
  };
  return { cluster: toClusterDto(cluster, pools), operation: toOperationDto(operation) };
}
