/**
 * Steve `/v1` wire shapes of provisioning v2 (rancher-api.md §9, §11.6) and their mapping to
 * Paddock's domain types (`backend-driver.ts`): provisioning clusters, machine configs and CAPI
 * machines. Like `v3.types.ts`, every field is optional and the mappers supply defaults.
 */

import { gunzipSync } from 'node:zlib';
import type {
  BackupState,
  ConditionStatus,
  NodePoolCreateSpec,
  NodeRoles,
  RemoteCluster,
  RemoteCondition,
  RemoteNode,
  RemoteNodePool,
  RemoteStatus,
  RemoteBackup,
} from '../backend-driver';
import { PADDOCK_LABELS } from '../backend-driver';
import { plainKubernetesVersion } from './v3.types';

/** Where Rancher keeps provisioning clusters, their machine configs and machines. */
export const FLEET_NAMESPACE = 'fleet-default';

export interface SteveMetadata {
  name?: string;
  namespace?: string;
  generateName?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  resourceVersion?: string;
  /** Moves on every spec change (kube-apiserver); `status.observedGeneration` follows it. */
  generation?: number;
  deletionTimestamp?: string | null;
  creationTimestamp?: string;
  state?: { name?: string; error?: boolean; transitioning?: boolean; message?: string } | null;
}

export interface SteveCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
}

export interface SteveObject {
  id?: string;
  type?: string;
  metadata?: SteveMetadata;
}

export interface SteveCollection<T> {
  type: 'collection';
  revision?: string;
  continue?: string;
  data: T[];
}

export interface MachinePool {
  name?: string;
  quantity?: number;
  etcdRole?: boolean;
  controlPlaneRole?: boolean;
  workerRole?: boolean;
  machineConfigRef?: { kind?: string; name?: string; apiVersion?: string };
  /** Labels of the pool's MachineDeployment: where Paddock's labels go (`labels` are node labels). */
  machineDeploymentLabels?: Record<string, string> | null;
  [field: string]: unknown;
}

export interface ProvisioningCluster extends SteveObject {
  spec?: {
    kubernetesVersion?: string;
    cloudCredentialSecretName?: string;
    rkeConfig?: { machinePools?: MachinePool[] | null; [field: string]: unknown } | null;
    [field: string]: unknown;
  };
  status?: {
    clusterName?: string;
    ready?: boolean;
    /** The `metadata.generation` the controller last acted on. */
    observedGeneration?: number;
    conditions?: SteveCondition[] | null;
  } | null;
}

export interface CapiMachine extends SteveObject {
  spec?: { clusterName?: string };
  status?: {
    phase?: string;
    nodeRef?: { name?: string } | null;
    addresses?: Array<{ type?: string; address?: string }> | null;
    conditions?: SteveCondition[] | null;
  } | null;
}

/**
 * Rancher's management Node (`management.cattle.io.nodes`, `/v3/nodes` in norman's spelling): one
 * per downstream Kubernetes Node of every cluster, provisioning v2 included, in the management
 * cluster's namespace (`c-m-xxxxxxxx`), made and removed by the node syncer
 * (rancher/rancher `pkg/controllers/managementuser/nodesyncer/nodessyncer.go`). Its
 * `status.internalNodeStatus.conditions` keep only the kubelet's `Ready` (`cleanStatus`), which is
 * also copied into `status.conditions` beside Rancher's own (`Registered`).
 */
export interface ManagementNode extends SteveObject {
  spec?: { requestedHostname?: string };
  status?: {
    nodeName?: string;
    conditions?: SteveCondition[] | null;
    internalNodeStatus?: { conditions?: SteveCondition[] | null } | null;
    /** The downstream Node's annotations, CAPI's among them. */
    nodeAnnotations?: Record<string, string> | null;
  } | null;
}

/**
 * The annotations CAPI's machine controller puts on a machine's Node (kubernetes-sigs/cluster-api
 * `internal/controllers/machine/machine_controller_noderef.go`), which the node syncer copies into
 * `status.nodeAnnotations`: the management Node's link to its CAPI machine.
 */
const NODE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/machine';
const NODE_MACHINE_NAMESPACE_ANNOTATION = 'cluster.x-k8s.io/cluster-namespace';

/**
 * The steve id (`<namespace>/<name>`) of the CAPI machine behind a management Node, or null for a
 * Node no CAPI machine made (an RKE1 or imported cluster's) or not annotated yet.
 */
export function machineIdOfNode(n: ManagementNode): string | null {
  const annotations = n.status?.nodeAnnotations ?? {};
  const machine = annotations[NODE_MACHINE_ANNOTATION];
  const namespace = annotations[NODE_MACHINE_NAMESPACE_ANNOTATION];
  return machine && namespace ? `${namespace}/${machine}` : null;
}

/**
 * A management Node's conditions: Rancher's own (`status.conditions`) with the kubelet's
 * (`status.internalNodeStatus.conditions`) in place of any of the same type.
 */
export function nodeConditionsOf(n: ManagementNode): RemoteCondition[] {
  return mergeConditions(
    toConditions(n.status?.conditions),
    toConditions(n.status?.internalNodeStatus?.conditions),
  );
}

/** `base` with each of `over` in place of the one of the same type (or added after them). */
export function mergeConditions(base: RemoteCondition[], over: RemoteCondition[]): RemoteCondition[] {
  const byType = new Map(base.map((c) => [c.type, c]));
  for (const c of over) byType.set(c.type, c);
  return [...byType.values()];
}

// Labels Rancher puts on CAPI machines (pkg/capr): the pool and roles a machine belongs to.
const MACHINE_POOL_LABEL = 'rke.cattle.io/rke-machine-pool-name';
const MACHINE_CLUSTER_LABEL = 'cluster.x-k8s.io/cluster-name';
const AGENT_LABELS_ANNOTATION = 'rke.cattle.io/labels';
const ROLE_LABELS = {
  etcd: 'rke.cattle.io/etcd-role',
  controlPlane: 'rke.cattle.io/control-plane-role',
  worker: 'rke.cattle.io/worker-role',
} as const;

export function isSteveCollection(value: unknown): value is SteveCollection<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'collection' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

export function isSteveObject(value: unknown): value is SteveObject & { metadata: SteveMetadata } {
  const metadata = (value as { metadata?: unknown } | null)?.metadata;
  return (
    typeof metadata === 'object' && metadata !== null && typeof (metadata as SteveMetadata).name === 'string'
  );
}

/** `fleet-default/prod-a`: a steve id. */
export const steveId = (o: SteveObject): string =>
  o.id ?? `${o.metadata?.namespace ?? FLEET_NAMESPACE}/${o.metadata?.name ?? ''}`;

/**
 * A machine pool has no object of its own: Paddock names it `<cluster's steve id>/<pool name>`
 * (`fleet-default/prod-a/workers`), which `splitPoolId` takes apart again.
 */
export const poolIdOf = (clusterId: string, poolName: string): string => `${clusterId}/${poolName}`;

export function splitPoolId(id: string): { clusterId: string; pool: string } | null {
  const parts = id.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  return { clusterId: `${parts[0]}/${parts[1]}`, pool: parts[2] };
}

export function splitClusterId(id: string): { namespace: string; name: string } | null {
  const parts = id.split('/');
  if (parts.length !== 2 || parts.some((p) => p === '')) return null;
  return { namespace: parts[0], name: parts[1] };
}

function toConditionStatus(value: string | undefined): ConditionStatus {
  return value === 'True' || value === 'False' ? value : 'Unknown';
}

function toConditions(raw: SteveCondition[] | null | undefined): RemoteCondition[] {
  return (raw ?? [])
    .filter((c): c is SteveCondition & { type: string } => typeof c?.type === 'string')
    .map((c) => {
      const condition: RemoteCondition = { type: c.type, status: toConditionStatus(c.status) };
      if (c.reason) condition.reason = c.reason;
      if (c.message) condition.message = c.message;
      if (c.lastUpdateTime) condition.lastUpdateTime = c.lastUpdateTime;
      return condition;
    });
}

/** Steve's summary (`metadata.state`) in the domain's words; a deletion is `removing` whatever it says. */
function toStatus(o: SteveObject, conditions: SteveCondition[] | null | undefined): RemoteStatus {
  const state = o.metadata?.state ?? {};
  return {
    state: o.metadata?.deletionTimestamp ? 'removing' : state.name || 'unknown',
    transitioning: state.error ? 'error' : state.transitioning ? 'yes' : 'no',
    message: state.message ?? '',
    conditions: toConditions(conditions),
  };
}

const labelsOf = (o: SteveObject): Record<string, string> => ({ ...(o.metadata?.labels ?? {}) });

export function toRemoteCluster(c: ProvisioningCluster): RemoteCluster {
  const status = toStatus(c, c.status?.conditions);
  const pools = c.spec?.rkeConfig?.machinePools ?? [];
  return {
    ...status,
    id: steveId(c),
    managementId: c.status?.clusterName || null,
    name: c.metadata?.name ?? '',
    labels: labelsOf(c),
    removing: Boolean(c.metadata?.deletionTimestamp),
    // The machines the spec asks for; the sync counts the machines it actually lists.
    nodeCount: pools.reduce((sum, p) => sum + (typeof p.quantity === 'number' ? p.quantity : 0), 0),
    kubernetesVersion: runningVersion(c),
  };
}

/**
 * The version the cluster runs. The provisioning object only carries the spec's; it is what runs
 * once the controller has acted on the latest spec (`observedGeneration` caught up with
 * `generation`) and reports `Updated=True`. Until then (provisioning, or an upgrade under way)
 * the running version is not known from this object: null, and the sync keeps what it had.
 */
function runningVersion(c: ProvisioningCluster): string | null {
  const generation = c.metadata?.generation;
  const observed = c.status?.observedGeneration;
  const caughtUp = generation === undefined || (observed !== undefined && observed >= generation);
  const updated = (c.status?.conditions ?? []).find((x) => x.type === 'Updated')?.status === 'True';
  return caughtUp && updated ? plainKubernetesVersion(c.spec?.kubernetesVersion) : null;
}

/** The cluster's machine pools, each as a node pool; a pool shares its cluster's state. */
export function toRemoteNodePools(c: ProvisioningCluster): RemoteNodePool[] {
  const cluster = toRemoteCluster(c);
  return (c.spec?.rkeConfig?.machinePools ?? [])
    .filter((p): p is MachinePool & { name: string } => typeof p.name === 'string' && p.name !== '')
    .map((p) => ({
      state: cluster.removing ? 'removing' : cluster.state,
      transitioning: cluster.transitioning,
      message: cluster.message,
      conditions: [],
      id: poolIdOf(cluster.id, p.name),
      clusterId: cluster.id,
      hostnamePrefix: p.name,
      quantity: typeof p.quantity === 'number' ? p.quantity : 0,
      roles: {
        etcd: p.etcdRole === true,
        controlPlane: p.controlPlaneRole === true,
        worker: p.workerRole === true,
      },
      nodeTemplateId: p.machineConfigRef?.name ?? '',
      labels: { ...(p.machineDeploymentLabels ?? {}) },
    }));
}

/** A CAPI machine as a node: `active` once it runs and has joined (phase `Running`, a `nodeRef`). */
export function toRemoteNode(m: CapiMachine): RemoteNode {
  const labels = labelsOf(m);
  const namespace = m.metadata?.namespace ?? FLEET_NAMESPACE;
  const clusterName = m.spec?.clusterName ?? labels[MACHINE_CLUSTER_LABEL] ?? '';
  const clusterId = `${namespace}/${clusterName}`;
  const pool = labels[MACHINE_POOL_LABEL];
  const status = toStatus(m, m.status?.conditions);
  const running = m.status?.phase === 'Running' && Boolean(m.status?.nodeRef?.name);
  const addresses = m.status?.addresses ?? [];
  const address =
    addresses.find((a) => a.type === 'InternalIP')?.address ??
    addresses.find((a) => a.type === 'ExternalIP')?.address ??
    null;
  const roles: NodeRoles = {
    etcd: labels[ROLE_LABELS.etcd] === 'true',
    controlPlane: labels[ROLE_LABELS.controlPlane] === 'true',
    worker: labels[ROLE_LABELS.worker] === 'true',
  };
  return {
    ...status,
    state: status.state === 'removing' ? 'removing' : running ? 'active' : status.state,
    id: steveId(m),
    clusterId,
    nodePoolId: pool ? poolIdOf(clusterId, pool) : null,
    hostname: m.status?.nodeRef?.name || m.metadata?.name || '',
    ipAddress: address,
    roles,
    // Still being made (or remade): not running yet and not on its way out.
    provisioning: !running && !m.metadata?.deletionTimestamp,
    registrationId: pool ? null : (agentLabelsOf(m)[PADDOCK_LABELS.registrationId] ?? null),
  };
}

/**
 * The `--label`s a system agent registered a custom machine with: Rancher keeps them, as JSON, in
 * the machine's `rke.cattle.io/labels` annotation, and the planner puts them on the node (pkg/capr).
 */
function agentLabelsOf(m: CapiMachine): Record<string, string> {
  const raw = m.metadata?.annotations?.[AGENT_LABELS_ANNOTATION];
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}

/** A machine pool as Paddock creates it; Paddock's labels go on its MachineDeployment. */
export function toMachinePool(
  spec: NodePoolCreateSpec,
  machineConfig: { kind: string; name: string },
): MachinePool {
  return {
    name: spec.name ?? spec.hostnamePrefix.replace(/-+$/, ''),
    quantity: spec.quantity,
    etcdRole: spec.roles.etcd,
    controlPlaneRole: spec.roles.controlPlane,
    workerRole: spec.roles.worker,
    machineConfigRef: { kind: machineConfig.kind, name: machineConfig.name },
    machineDeploymentLabels: { ...spec.labels },
    ...(spec.autoReplaceSeconds ? { unhealthyNodeTimeout: toDuration(spec.autoReplaceSeconds) } : {}),
  };
}

/** `unhealthyNodeTimeout` is a `metav1.Duration`: `600s` (rancher-212.md §3.1). */
export const toDuration = (seconds: number): string => `${seconds}s`;

/** Whether a machine pool is the one a Paddock pool record describes (by its label, else its name). */
export function isPaddockPool(p: MachinePool, poolId: string): boolean {
  return p.machineDeploymentLabels?.[PADDOCK_LABELS.poolId] === poolId;
}

// ---------------------------------------------------------------- etcd snapshots (rancher-212.md §5.3)

/** `rke.cattle.io.etcdsnapshots`: one per snapshot per storage (`local` per etcd node, one `s3`). */
export interface EtcdSnapshot extends SteveObject {
  spec?: { clusterName?: string };
  snapshotFile?: {
    name?: string;
    nodeName?: string;
    location?: string;
    /** base64 of the (gzipped) JSON cluster spec, with its `kubernetesVersion`. */
    metadata?: string;
    createdAt?: string;
    size?: number;
    status?: string;
    message?: string;
    s3?: Record<string, unknown> | null;
  } | null;
}

/** `rke.cattle.io.rkecontrolplanes`: where a restore's progress is reported (§5.4). */
export interface RkeControlPlane extends SteveObject {
  status?: {
    etcdSnapshotRestorePhase?: string;
    etcdSnapshotRestore?: { name?: string; generation?: number; restoreRKEConfig?: string } | null;
  } | null;
}

export const SNAPSHOT_CLUSTER_LABEL = 'rke.cattle.io/cluster-name';
const SNAPSHOT_STORAGE_ANNOTATION = 'etcdsnapshot.rke.io/storage';

/** True for the copy in S3 (the one in the cluster's bucket; local copies die with their node). */
export function isS3Snapshot(s: EtcdSnapshot): boolean {
  const storage = s.metadata?.annotations?.[SNAPSHOT_STORAGE_ANNOTATION];
  return storage ? storage === 's3' : Boolean(s.snapshotFile?.s3);
}

/** The recorded Kubernetes version: the metadata is base64 JSON, gzipped by Rancher. */
function snapshotVersion(metadata: string | undefined): string | null {
  if (!metadata) return null;
  try {
    let bytes: Buffer = Buffer.from(metadata, 'base64');
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    const parsed = JSON.parse(bytes.toString('utf8')) as { kubernetesVersion?: unknown };
    return typeof parsed.kubernetesVersion === 'string' ? parsed.kubernetesVersion : null;
  } catch {
    return null;
  }
}

export function toRemoteSnapshot(s: EtcdSnapshot): RemoteBackup {
  const namespace = s.metadata?.namespace ?? FLEET_NAMESPACE;
  const file = s.snapshotFile ?? {};
  const cluster = s.spec?.clusterName ?? s.metadata?.labels?.[SNAPSHOT_CLUSTER_LABEL] ?? '';
  const state: BackupState =
    file.status === 'failed' ? 'failed' : file.status === 'successful' ? 'active' : 'activating';
  return {
    id: `${namespace}/${s.metadata?.name ?? ''}`,
    clusterId: `${namespace}/${cluster}`,
    name: s.metadata?.name ?? '',
    createdAt: file.createdAt ?? s.metadata?.creationTimestamp ?? null,
    state,
    message: file.message ?? '',
    // RKE2 names on-demand snapshots `on-demand-<node>-<ts>`, recurring ones `etcd-snapshot-...`.
    manual: (file.name ?? '').startsWith('on-demand-'),
    kubernetesVersion: snapshotVersion(file.metadata),
    size: typeof file.size === 'number' ? file.size : null,
  };
}
