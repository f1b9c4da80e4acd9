/**
 * The backend-driver interface: the only view the rest of Paddock has of a Rancher server.
 *
 * Everything here is in Paddock's own words. Rancher's wire format (envelopes, ids, actions,
 * conditions) stays inside `src/rancher-backends/`; one implementation exists per backend kind
 * (`rke1` speaks the norman `/v3` API of Rancher <= 2.11; `rke2` speaks provisioning v2 through
 * steve `/v1`, the only cluster API of Rancher 2.12 and later).
 */

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

/** How often a cluster's etcd is snapshotted and how many recurring snapshots are kept. */
export interface BackupSchedule {
  intervalHours: number;
  retention: number;
}

/**
 * Where a cluster's snapshots go. The keys are secrets: a driver sends them to the backend (RKE1
 * in the cluster's `s3BackupConfig`, RKE2 in a cloud credential it creates) and never logs them.
 */
export interface BackupTarget {
  /** `http(s)://host[:port]` of the S3 API. */
  endpoint: string;
  region: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
}

export interface ClusterBackupSpec {
  schedule: BackupSchedule;
  target: BackupTarget;
}

export type BackupState = 'activating' | 'active' | 'failed';

/** One etcd snapshot as the backend lists it. */
export interface RemoteBackup {
  /** The backend's id (RKE1 `c-abcde:c-abcde-rs-x7k2p`). */
  id: string;
  /** The backend's id of the cluster. */
  clusterId: string;
  /** The snapshot's name, unique on the backend (RKE1 `c-abcde-rs-x7k2p`). */
  name: string;
  createdAt: string | null;
  state: BackupState;
  /** Why it failed, when it did. */
  message: string;
  manual: boolean;
  kubernetesVersion: string | null;
  /** Bytes, when the backend reports it (RKE1 does not). */
  size: number | null;
}

/** Where a restore stands, as the backend reports it on the cluster. */
export type RestoreProgress =
  { phase: 'running' } | { phase: 'done' } | { phase: 'failed'; message: string } | { phase: 'gone' };

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

// ------------------------------------------------------------------ addons (through Fleet)

/** How a backend's Fleet takes an addon: a `HelmOp`, or a `Bundle` that embeds the chart. */
export type AddonDeliveryKind = 'helmop' | 'bundle';

/** One addon's Fleet object on one backend, in Paddock's words. */
export interface AddonDeliverySpec {
  /** The Fleet object's name (`paddock-<addon>`), also its bundle's and each bundle deployment's. */
  name: string;
  /** Paddock's addon name, as a label on the object. */
  addon: string;
  chart: { repo: string; name: string; version: string };
  /** For a Bundle: the chart's files as `spec.resources`, the way `fleet apply` embeds a chart. */
  resources?: { name: string; content: string; encoding?: string }[];
  namespace: string;
  releaseName: string;
  values: Record<string, unknown>;
  /** The clusters it reaches: every Paddock cluster, or the ones carrying the addon's opt-in label. */
  selector: Record<string, string>;
  /** Clusters with values of their own (each also matched by `selector`). */
  clusterTargets: { name: string; fleetClusterName: string; values: Record<string, unknown> }[];
  /** Fleet's `rolloutStrategy.maxUnavailable`: a count or a percentage. */
  maxUnavailable: string | number;
  paused: boolean;
}

/** Fleet's counts for one addon on one backend (`status.summary`). */
export interface RemoteAddonSummary {
  name: string;
  version: string | null;
  paused: boolean;
  desiredReady: number;
  ready: number;
  errApplied: number;
  /** Modified: installed, then changed behind Fleet's back. */
  modified: number;
  /** WaitApplied, Pending, NotReady and OutOfSync: on their way. */
  waiting: number;
  state: string;
}

export type RemoteAddonDeploymentState =
  'Ready' | 'NotReady' | 'WaitApplied' | 'ErrApplied' | 'OutOfSync' | 'Modified' | 'Pending';

/** One addon on one cluster, as its Fleet bundle deployment says. */
export interface RemoteAddonDeployment {
  /** The driver's id of the cluster (`c-abcde`; rke2 `fleet-default/<name>`). */
  clusterId: string;
  version: string | null;
  state: RemoteAddonDeploymentState;
  /** A `NotReady` that is an error (a resource reports one), not a release still coming up. */
  error: boolean;
  message: string;
}

/**
 * A backend's Fleet: where addons are delivered. Every call has a timeout; errors are
 * `BackendError`s. Calls per rollout and per status cycle do not depend on the number of clusters.
 */
export interface FleetDelivery {
  /** HelmOp, Bundle, or null when the backend's Fleet cannot deliver addons (a look-up, once). */
  deliveryKind(): Promise<AddonDeliveryKind | null>;
  /** Creates or updates the addon's Fleet object (look-up first; nothing written when unchanged). */
  apply(kind: AddonDeliveryKind, spec: AddonDeliverySpec): Promise<void>;
  /** Removes the addon's Fleet object; Fleet uninstalls it everywhere. Idempotent. */
  remove(kind: AddonDeliveryKind, name: string): Promise<void>;
  /** Every Paddock addon's counts on the backend: one call. */
  summaries(kind: AddonDeliveryKind): Promise<RemoteAddonSummary[]>;
  /** One addon's per-cluster deployments, paged. */
  deploymentPages(name: string): AsyncIterable<RemoteAddonDeployment[]>;
}

/**
 * What differs by backend kind on the way to Fleet: which object carries a cluster's labels, and
 * the name Fleet knows a cluster by. The Fleet objects themselves are the same on both kinds.
 */
export interface AddonDriver {
  readonly fleet: FleetDelivery;
  /** The name Fleet knows the cluster by (rke1 `c-abcde`; rke2 the provisioning cluster's name). */
  fleetClusterName(clusterId: string): string;
  /**
   * Sets (`value`) or removes (null) one label on the cluster where Rancher copies it to the Fleet
   * cluster (rke1: the management cluster; rke2: the provisioning cluster). No-op when already so.
   */
  setClusterLabel(clusterId: string, key: string, value: string | null): Promise<void>;
}
