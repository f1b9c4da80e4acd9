import type { ClusterDto, NodeDto, NodePoolDto } from './cluster.dto';
import type { ClusterRecord, NodePoolRecord, NodeRecord } from './clusters.repository';
import type { OperationDto } from './operation.dto';
import type { OperationRecord } from './operations.repository';

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
    name: s.name,
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
