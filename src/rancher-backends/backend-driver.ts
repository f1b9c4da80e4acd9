/**
 * The backend-driver interface: the only view the rest of Paddock has of a Rancher server.
 *
 * Everything here is in Paddock's own words. Rancher's wire format (envelopes, ids, actions,
 * conditions) stays inside `src/rancher-backends/`; one implementation exists per backend kind
 * (`rke1` speaks the norman `/v3` API of Rancher <= 2.11; `rke2` speaks provisioning v2 through
 * steve `/v1`, the only cluster API of Rancher 2.12 and later).
 */

import type { AddonDriver } from './driver-addon.types';
import type { ClusterBackupSpec, RemoteBackup, RestoreProgress } from './driver-backup.types';
import type {
  ClusterCreateSpec,
  NodePoolCreateSpec,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
  RemoteRegistrationToken,
} from './driver-cluster.types';

export type {
  AddonDeliveryKind,
  AddonDeliverySpec,
  AddonDriver,
  FleetDelivery,
  RemoteAddonDeployment,
  RemoteAddonDeploymentState,
  RemoteAddonSummary,
} from './driver-addon.types';
export type {
  BackupSchedule,
  BackupState,
  BackupTarget,
  ClusterBackupSpec,
  RemoteBackup,
  RestoreProgress,
} from './driver-backup.types';
export type {
  ClusterCreateSpec,
  ConditionStatus,
  NodePoolCreateSpec,
  NodeRoles,
  RemoteCluster,
  RemoteCondition,
  RemoteNode,
  RemoteNodePool,
  RemoteRegistrationToken,
  RemoteStatus,
} from './driver-cluster.types';
export { componentConditionType } from './driver-cluster.types';

export type BackendKind = 'rke1' | 'rke2';

/**
 * What a flavor means on one backend: an RKE1 node template that already exists there, or (rke2)
 * the driver fields of the machine config Paddock creates for every pool of that flavor.
 */
export interface FlavorTemplate {
  nodeTemplateId?: string;
  machineConfig?: { kind: string; fields: Record<string, unknown> };
}

/**
 * The parts of a backend's registration a driver needs besides its connection. Drivers are
 * rebuilt whenever the backend row changes, so these are never stale for long.
 */
export interface BackendDriverSettings {
  /** Flavor name → template (rke2 resolves a pool's `nodeTemplateId`, the flavor name, here). */
  flavors: Record<string, FlavorTemplate>;
  /** rke2: `cattle-global-data:cc-xxxxx`, sent as the cluster's `cloudCredentialSecretName`. */
  cloudCredential?: string | null;
  /** Kubernetes versions as the backend spells them, as its last probe found them. */
  kubernetesVersions?: readonly string[];
}

/** Where a backend lives and how to authenticate. The token is a secret: never log it. */
export interface BackendConnection {
  /** Paddock's name for the backend (used in metrics and logs, never sent to Rancher). */
  name: string;
  /** Base URL of the Rancher server, without a trailing slash or `/v3`. */
  url: string;
  /** `token-xxxxx:<secret>` bearer value. */
  token: string;
}

/**
 * Labels Paddock puts on every object it creates, so that a look-up before a create finds an
 * earlier attempt and the status sync can tell Paddock's objects from everyone else's.
 * Keys must not contain `cattle.io/` (Rancher protects those).
 */
export const PADDOCK_LABELS = {
  managed: 'paddock.dev/managed',
  clusterId: 'paddock.dev/cluster-id',
  poolId: 'paddock.dev/pool-id',
  projectId: 'paddock.dev/project-id',
  /** On a node registered with a Paddock join command: the node registration's id. */
  registrationId: 'paddock.dev/registration-id',
} as const;

export interface BackendProbe {
  /** Rancher version reported by `/v3/settings/server-version`. */
  version: string;
  /**
   * Kubernetes versions the backend offers for new clusters and upgrades, as it spells them, its
   * default for new clusters first (rke1 `k8s-version`, rke2 `rke2-default-version`).
   */
  kubernetesVersions: string[];
  /** Round trip of the probe in milliseconds. */
  latencyMs: number;
}

export interface NodeTemplateRef {
  id: string;
  name: string;
  driver: string;
}

export interface CloudCredentialRef {
  /** `cattle-global-data:cc-xxxxx`. */
  id: string;
  /** Machine drivers it holds a `<driver>credentialConfig` block for (`openstack`, `amazonec2`, …). */
  drivers: string[];
}

/** One Rancher (or S3) call a plan expects to make, described for people (the `:plan` dry run). */
export interface PlannedCall {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  /** Path with placeholders for ids not known yet, e.g. `/v3/clusters/{clusterId}`. */
  path: string;
  purpose: string;
  /** True for a poll that repeats until its condition holds. */
  repeated?: boolean;
}

/**
 * Domain operations on one Rancher backend.
 *
 * Every method has a bounded duration (each HTTP call carries a timeout) and throws
 * `BackendError` (see `backend.errors.ts`) whose `retryable` flag tells the caller whether trying
 * again can help. `find*` methods return null for "absent"; `delete*` methods are idempotent and
 * treat "already gone" as success.
 */
export interface BackendDriver extends AddonDriver {
  readonly kind: BackendKind;

  /** The calls a create makes on this kind of backend, in order (no call is made). */
  planCreate(cluster: ClusterCreateSpec, pools: NodePoolCreateSpec[]): PlannedCall[];

  /** Checks that the server answers, accepts the token and reports its version. */
  probe(): Promise<BackendProbe>;

  /**
   * The backend's own spelling of a user's `v1.31.9` or `v1.31` (the newest patch), from the
   * versions its last probe found; null when it offers no such version.
   */
  resolveKubernetesVersion(version: string): string | null;

  /**
   * Whatever a pool needs on the backend before its cluster or pool is created, looked up before it
   * is created (by the pool's labels). rke2: the pool's machine config; rke1: nothing (the flavor's
   * node template exists already), no call.
   */
  prepareNodePool(spec: NodePoolCreateSpec): Promise<void>;

  /**
   * Removes what `prepareNodePool` made for a cluster (or one pool of it) once nothing uses it;
   * idempotent. rke1: nothing, no call.
   */
  releaseNodePools(owner: { clusterId: string; poolId?: string }): Promise<void>;

  /**
   * Removes copies of what `prepareNodePool` made that no pool of the cluster `rancherId` uses
   * (Paddock's cluster `clusterId`): a create that timed out can land after its retry made
   * another, and after the cluster was made from that one. Returns how many went; idempotent.
   * rke2: machine configs labelled with the cluster that no machine pool references; rke1:
   * nothing, no call.
   */
  removeStrayNodePoolPreparations(owner: { clusterId: string; rancherId: string }): Promise<number>;

  /** Whether pools may be created in the cluster yet (rke1 waits for its roles, §11.9). */
  acceptsNodePools(cluster: RemoteCluster): boolean;

  /** The node template behind a flavor, or null when it does not exist on this backend. */
  findNodeTemplate(id: string): Promise<NodeTemplateRef | null>;

  /**
   * A cloud credential (`cattle-global-data:cc-xxxxx`) and the machine drivers it serves, or null
   * when this backend has none by that id (or hides it from the token).
   */
  findCloudCredential(id: string): Promise<CloudCredentialRef | null>;

  /** Looks a cluster up by its display name (ignores clusters already being removed). */
  findClusterByName(name: string): Promise<RemoteCluster | null>;
  getCluster(id: string): Promise<RemoteCluster | null>;
  /**
   * Creates a cluster. Not retried internally: a create whose answer was lost must be followed by
   * `findClusterByName` before it is attempted again.
   */
  createCluster(spec: ClusterCreateSpec): Promise<RemoteCluster>;
  /** Starts the delete; resolves when Rancher accepted it or the cluster is already gone. */
  deleteCluster(id: string): Promise<void>;
  /**
   * Asks the backend to run `version` (a user's `v1.32.5` it offers) on the cluster: rke1 a PUT of
   * the cluster with its `name` and the new `rancherKubernetesEngineConfig.kubernetesVersion`; rke2
   * an update of the cluster object with the `resourceVersion` read, re-read on 409. Nothing is
   * written when the cluster already asks for that version, so a retry is harmless. Rancher's
   * refusal of the change (rke1 "not enough worker nodes ready to upgrade", a version it does not
   * offer) is a `BackendError` of kind `invalid`, not retryable.
   */
  setKubernetesVersion(clusterId: string, version: string): Promise<void>;

  /** Node pools of one cluster. */
  listNodePools(clusterId: string): Promise<RemoteNodePool[]>;
  getNodePool(id: string): Promise<RemoteNodePool | null>;
  /** Same create rule as `createCluster`: look up (by label) before retrying. */
  createNodePool(spec: NodePoolCreateSpec): Promise<RemoteNodePool>;
  scaleNodePool(id: string, quantity: number): Promise<RemoteNodePool>;
  deleteNodePool(id: string): Promise<void>;
  /**
   * Sets how long a node of the pool may be unhealthy before the backend replaces it (null:
   * never). rke1: the pool's `deleteNotReadyAfterSecs`; rke2: the machine pool's
   * `unhealthyNodeTimeout`, which Rancher turns into a CAPI MachineHealthCheck.
   */
  setNodePoolAutoReplace(id: string, seconds: number | null): Promise<void>;

  /**
   * Deletes one node of a pool on the backend; the pool, whose quantity is unchanged, makes a new
   * one in its place (rke1 `DELETE /v3/nodes/<id>`; rke2 deletes the CAPI machine and its
   * MachineSet replaces it). A registered node (rke1 custom node, rke2 custom machine) belongs to no
   * pool: it goes for good. Idempotent: a node already gone is success.
   */
  deleteNode(id: string): Promise<void>;

  /**
   * Every cluster, pool and node on the backend, one page at a time (for the status sync, which
   * writes each page away before it asks for the next, so a large backend never sits in memory).
   */
  clusterPages(): AsyncIterable<RemoteCluster[]>;
  nodePoolPages(): AsyncIterable<RemoteNodePool[]>;
  nodePages(): AsyncIterable<RemoteNode[]>;

  // ---------------------------------------------------------------- etcd backups

  /** Points the cluster's recurring backups at `backup` (an update of the cluster on the backend). */
  setBackupSchedule(clusterId: string, backup: ClusterBackupSpec): Promise<void>;
  /** Starts a manual backup now. Not retried internally: a lost answer may leave one more backup. */
  takeBackup(clusterId: string): Promise<RemoteBackup>;
  getBackup(id: string): Promise<RemoteBackup | null>;
  /** Every backup on the backend, one page at a time (for the status sync). */
  backupPages(): AsyncIterable<RemoteBackup[]>;
  /**
   * Asks the backend to restore the cluster's etcd from `backupId` (with the backup's Kubernetes
   * version when `restoreKubernetesVersion`). Sending it twice restores once.
   */
  restoreBackup(clusterId: string, backupId: string, restoreKubernetesVersion: boolean): Promise<void>;
  /** How the restore `restoreBackup` started is going. */
  restoreProgress(clusterId: string): Promise<RestoreProgress>;

  // ---------------------------------------------------------------- node registrations (§5)

  /**
   * A registration token of the cluster named `name`, made unless it exists (a retry finds the
   * first attempt's), once the backend has filled its node command. Both kinds use
   * `/v3/clusterregistrationtokens` of the management cluster (rke2: the `c-m-…` twin).
   */
  ensureRegistrationToken(clusterId: string, name: string): Promise<RemoteRegistrationToken>;
  /** Removes a registration token; idempotent. Nodes that joined with it stay. */
  deleteRegistrationToken(id: string): Promise<void>;
  /** One node, or null once it is gone. */
  getNode(id: string): Promise<RemoteNode | null>;
}
