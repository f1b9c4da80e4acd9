/**
 * The domain of clusters, pools and nodes as the services and repositories speak it. The DTO
 * files build the public shapes from these; nothing here knows about HTTP.
 */

export const NODE_ROLES = ['etcd', 'controlplane', 'worker'] as const;
export type NodeRole = (typeof NODE_ROLES)[number];

export const CLUSTER_STATES = [
  'provisioning',
  'active',
  'updating',
  'error',
  'deleting',
  'deleted',
  'failed',
] as const;
export type ClusterState = (typeof CLUSTER_STATES)[number];

export const POOL_STATES = ['provisioning', 'active', 'scaling', 'deleting', 'deleted', 'failed'] as const;
export type NodePoolState = (typeof POOL_STATES)[number];

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface ClusterRecord {
  id: string;
  projectId: string;
  projectName: string;
  backendId: string;
  name: string;
  rancherName: string;
  rancherId: string | null;
  kubernetesVersion: string | null;
  region: string | null;
  labels: Record<string, string>;
  state: ClusterState;
  remoteState: string | null;
  remoteTransitioning: string | null;
  remoteMessage: string | null;
  conditions: Condition[];
  nodeCount: number;
  statusUpdatedAt: Date | null;
  activeOperationId: string | null;
  /** When the expiry sweep deletes the cluster; null: never. */
  expiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NodePoolRecord {
  id: string;
  clusterId: string;
  name: string;
  roles: NodeRole[];
  flavor: string;
  nodeTemplateId: string;
  quantity: number;
  remoteQuantity: number | null;
  readyNodes: number;
  rancherId: string | null;
  state: NodePoolState;
  /** Seconds a node may stay unhealthy before the backend replaces it; null: never. */
  autoReplaceSeconds: number | null;
  createdAt: Date;
}

export interface NodeRecord {
  id: string;
  clusterId: string;
  nodePoolId: string | null;
  nodePoolName: string | null;
  /** `registered`: an own server joined with a node registration (no pool). */
  source: 'pool' | 'registered';
  registrationId: string | null;
  rancherId: string;
  hostname: string;
  state: string;
  transitioning: string;
  message: string;
  roles: NodeRole[];
  ipAddress: string | null;
  /** As the backend reports them: lifecycle conditions and the kubelet's. */
  conditions: Condition[];
  updatedAt: Date;
}

export interface NewCluster {
  id: string;
  projectId: string;
  backendId: string;
  name: string;
  rancherName: string;
  kubernetesVersion: string | null;
  region: string | null;
  labels: Record<string, string>;
  expiresAt: Date | null;
}

export type NewNodePool = Pick<
  NodePoolRecord,
  'id' | 'clusterId' | 'name' | 'roles' | 'flavor' | 'nodeTemplateId' | 'quantity'
> &
  Partial<Pick<NodePoolRecord, 'autoReplaceSeconds'>>;

/** A pool's roles in the canonical order (etcd, controlplane, worker). */
export const sortedRoles = (roles: readonly NodeRole[]): NodeRole[] =>
  [...roles].sort((a, b) => NODE_ROLES.indexOf(a) - NODE_ROLES.indexOf(b));
