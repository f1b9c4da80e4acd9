/**
 * What a driver reports about clusters, node pools and nodes, and what it is asked to create, in
 * Paddock's words (part of the backend-driver interface, `backend-driver.ts`).
 */

import type { ClusterBackupSpec } from './driver-backup.types';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/**
 * One condition of a cluster or node, in Kubernetes' shape. Drivers return every condition their
 * backend reports; kind-specific health signals that are not conditions on the wire (RKE1's
 * `componentStatuses`) are folded in as conditions of type `ComponentHealthy/<component>`.
 */
export interface RemoteCondition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  /** When the status last changed, as the backend reports it. */
  lastTransitionTime?: string;
}

/** The condition type a component status becomes (`ComponentHealthy/etcd-0`). */
export const componentConditionType = (component: string) => `ComponentHealthy/${component}`;

/** Rancher's summary of an object: its state name and whether it is moving or stuck. */
export interface RemoteStatus {
  /** Rancher's lower-case state (`provisioning`, `waiting`, `active`, `updating`, `removing`, ...). */
  state: string;
  transitioning: 'yes' | 'no' | 'error';
  message: string;
  conditions: RemoteCondition[];
}

/**
 * A cluster as its backend lists it. `conditions` holds the cluster's own conditions and, where the
 * backend kind reports component health separately, one `ComponentHealthy/<component>` each.
 */
export interface RemoteCluster extends RemoteStatus {
  /** Rancher's id (`c-abcde`; rke2: `fleet-default/<name>`). */
  id: string;
  /**
   * The management cluster's id (`c-abcde`; rke2: the `c-m-xxxxxxxx` twin, null until Rancher made
   * it): what the per-cluster Kubernetes proxy `/k8s/clusters/<id>` takes.
   */
  managementId: string | null;
  /** Rancher's display name. */
  name: string;
  labels: Record<string, string>;
  /** True once a delete was accepted and the object is waiting on finalizers. */
  removing: boolean;
  nodeCount: number;
  /**
   * The version the cluster runs (`v1.31.9`) as the backend reports it; null when the backend does
   * not tell right now (rke2 while its controller has not acted on the latest spec).
   */
  kubernetesVersion: string | null;
}

export interface NodeRoles {
  etcd: boolean;
  controlPlane: boolean;
  worker: boolean;
}

export interface RemoteNodePool extends RemoteStatus {
  /** Rancher's id (`c-abcde:np-x7k2p`). */
  id: string;
  clusterId: string;
  hostnamePrefix: string;
  quantity: number;
  roles: NodeRoles;
  nodeTemplateId: string;
  labels: Record<string, string>;
}

/**
 * A node (machine) as its backend lists it. `conditions` holds the backend's lifecycle conditions
 * and the kubelet's `Ready`, as reported: Rancher's node syncer drops the kubelet's other conditions
 * from its node objects (`cleanStatus`, `nodesyncer/nodessyncer.go`).
 */
export interface RemoteNode extends RemoteStatus {
  /** Rancher's id (`c-abcde:m-4hxzq`). */
  id: string;
  clusterId: string;
  nodePoolId: string | null;
  hostname: string;
  ipAddress: string | null;
  roles: NodeRoles;
  /**
   * True until the machine exists and has registered with Kubernetes (including a machine whose
   * provisioning failed and is being retried): what `paddock_node_provisioning_seconds` measures.
   */
  provisioning: boolean;
  /**
   * For a node that joined with a Paddock node registration's command (it carries the
   * `paddock.dev/registration-id` label the command sets): that registration's id, as the label
   * says it (anyone can write a label: the sync checks it names a registration of the cluster).
   */
  registrationId?: string | null;
}

/**
 * A cluster registration token made for one node registration (rancher-api.md §5). `nodeCommand`
 * holds the token: it is a credential (it joins servers to the cluster) and is never logged.
 */
export interface RemoteRegistrationToken {
  /** The backend's id (`c-abcde:paddock-<registration>`), safe to log and store. */
  id: string;
  /** The backend's node command, before any role flag (`docker run … rancher/rancher-agent …` or `curl … | sh -s - …`). */
  nodeCommand: string;
}

export interface ClusterCreateSpec {
  /** Deterministic Rancher display name: a DNS label, unique on the backend. */
  name: string;
  /** `v1.30.4` (or `v1.30`: the newest patch on offer); absent means the backend's default. */
  kubernetesVersion?: string;
  labels: Record<string, string>;
  /**
   * The cluster's pools, for a kind that creates them with the cluster (rke2 puts them inline in
   * the one cluster object). A kind that creates pools one by one (rke1) ignores them; either
   * way `createNodePool`'s look-up finds the pools that were created with the cluster.
   */
  nodePools?: NodePoolCreateSpec[];
  /** Recurring etcd backups to the cluster's own bucket; absent means none to S3. */
  backup?: ClusterBackupSpec;
}

export interface NodePoolCreateSpec {
  clusterId: string;
  /** Paddock's pool name (a DNS label, unique in its cluster): the rke2 machine pool's name. */
  name?: string;
  hostnamePrefix: string;
  quantity: number;
  roles: NodeRoles;
  nodeTemplateId: string;
  labels: Record<string, string>;
  /**
   * Replace a node whose kubelet stops being Ready for this many seconds (rke1
   * `deleteNotReadyAfterSecs`, rke2 `unhealthyNodeTimeout`); absent or null: never.
   */
  autoReplaceSeconds?: number | null;
}
