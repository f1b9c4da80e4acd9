/**
 * Rancher norman `/v3` wire shapes (rancher-api.md §2–§6) and their mapping to Paddock's domain
 * types (`backend-driver.ts`).
 *
 * This is the only file where Rancher's field names appear. Every field is optional on purpose:
 * the server drops empty values and differs between versions, so the mappers supply defaults and
 * never trust a field to be there.
 */

import {
  componentConditionType,
  PADDOCK_LABELS,
  type BackupState,
  type ClusterBackupSpec,
  type ClusterCreateSpec,
  type ConditionStatus,
  type NodeRoles,
  type NodeTemplateRef,
  type RemoteBackup,
  type RemoteCluster,
  type RemoteCondition,
  type RemoteNode,
  type RemoteNodePool,
  type RemoteStatus,
} from '../backend-driver';

// ---------------------------------------------------------------- generic envelopes (§2.1, §2.2, §2.6)

export interface V3Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** Keys every v3 resource carries (framework-added). */
export interface V3Resource {
  id: string;
  type?: string;
  baseType?: string;
  name?: string;
  uuid?: string;
  created?: string;
  createdTS?: number;
  removed?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  state?: string;
  transitioning?: string;
  transitioningMessage?: string;
  conditions?: V3Condition[] | null;
  /** Some types keep their conditions in an embedded status object (node pools, etcd backups). */
  status?: { conditions?: V3Condition[] | null } | null;
  links?: Record<string, string>;
  actions?: Record<string, string>;
}

export interface V3Pagination {
  limit?: number;
  total?: number;
  marker?: string;
  next?: string;
  partial?: boolean;
}

export interface V3Collection<T> {
  type: 'collection';
  resourceType?: string;
  pagination?: V3Pagination;
  filters?: Record<string, unknown>;
  data: T[];
}

export interface V3Setting extends V3Resource {
  value?: string;
}

// ---------------------------------------------------------------- clusters (§3)

export interface V3RkeConfig {
  kubernetesVersion?: string;
  network?: { plugin?: string };
  /** Set by `restoreFromEtcdBackup`; the provisioner clears `restore` once the restore is done (§3.6). */
  restore?: { restore?: boolean; snapshotName?: string } | null;
}

/** `services.etcd.backupConfig` (§3.1). */
export interface V3BackupConfig {
  enabled: boolean;
  intervalHours: number;
  retention: number;
  safeTimestamp: boolean;
  timeout: number;
  s3BackupConfig: {
    accessKey: string;
    secretKey: string;
    bucketName: string;
    endpoint: string;
    region: string;
    folder: string;
    customCa: string;
  };
}

/** One entry of a cluster's `componentStatuses` (§3.2): Kubernetes' deprecated ComponentStatus. */
export interface V3ComponentStatus {
  name?: string;
  conditions?: Array<{ type?: string; status?: string; message?: string; error?: string }> | null;
}

export interface V3Cluster extends V3Resource {
  driver?: string;
  componentStatuses?: V3ComponentStatus[] | null;
  nodeCount?: number;
  rancherKubernetesEngineConfig?: V3RkeConfig | null;
  version?: { gitVersion?: string } | null;
}

/** Body of `POST /v3/clusters` for an RKE1 node-pool cluster. */
export interface V3ClusterCreate {
  type: 'cluster';
  name: string;
  labels: Record<string, string>;
  rancherKubernetesEngineConfig: {
    kubernetesVersion?: string;
    network: { plugin: 'canal' };
    services?: { etcd: { backupConfig: V3BackupConfig } };
  };
}

// ---------------------------------------------------------------- etcd backups (§6)

export interface V3EtcdBackup extends V3Resource {
  clusterId?: string;
  filename?: string;
  manual?: boolean;
  status?: { conditions?: V3Condition[] | null; kubernetesVersion?: string } | null;
}

/** The raw k8s object `backupEtcd` answers with instead of a v3 envelope (§3.6). */
export interface K8sEtcdBackup {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  spec?: { clusterId?: string; filename?: string; manual?: boolean };
  status?: { conditions?: V3Condition[] | null; kubernetesVersion?: string } | null;
}

// ---------------------------------------------------------------- node templates, pools, nodes (§4)

export interface V3NodeTemplate extends V3Resource {
  driver?: string;
}

export interface V3NodePool extends V3Resource {
  clusterId?: string;
  nodeTemplateId?: string;
  hostnamePrefix?: string;
  quantity?: number;
  etcd?: boolean;
  controlPlane?: boolean;
  worker?: boolean;
}

export interface V3NodePoolCreate {
  type: 'nodePool';
  clusterId: string;
  nodeTemplateId: string;
  hostnamePrefix: string;
  quantity: number;
  etcd: boolean;
  controlPlane: boolean;
  worker: boolean;
  labels: Record<string, string>;
  /** Seconds a node may be unreachable before the pool replaces it; 0: never (rancher-212.md §3.4). */
  deleteNotReadyAfterSecs?: number;
}

export interface V3Node extends V3Resource {
  clusterId?: string;
  nodePoolId?: string | null;
  requestedHostname?: string;
  hostname?: string;
  nodeName?: string;
  ipAddress?: string | null;
  etcd?: boolean;
  controlPlane?: boolean;
  worker?: boolean;
}

// ---------------------------------------------------------------- shape checks

export function isCollection(value: unknown): value is V3Collection<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'collection' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

export function isResource(value: unknown): value is V3Resource {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

// ---------------------------------------------------------------- mapping to the domain

function toConditionStatus(value: string | undefined): ConditionStatus {
  return value === 'True' || value === 'False' ? value : 'Unknown';
}

function toConditions(resource: V3Resource): RemoteCondition[] {
  const raw = resource.conditions ?? resource.status?.conditions ?? [];
  return raw
    .filter((c): c is V3Condition & { type: string } => typeof c?.type === 'string')
    .map((c) => {
      const condition: RemoteCondition = { type: c.type, status: toConditionStatus(c.status) };
      if (c.reason) condition.reason = c.reason;
      if (c.message) condition.message = c.message;
      if (c.lastUpdateTime) condition.lastUpdateTime = c.lastUpdateTime;
      if (c.lastTransitionTime) condition.lastTransitionTime = c.lastTransitionTime;
      return condition;
    });
}

function isTrueIn(resource: V3Resource, type: string): boolean {
  return (resource.conditions ?? []).some((c) => c?.type === type && c.status === 'True');
}

function toStatus(resource: V3Resource): RemoteStatus {
  const t = resource.transitioning;
  return {
    state: resource.state || 'unknown',
    transitioning: t === 'yes' || t === 'error' ? t : 'no',
    message: resource.transitioningMessage ?? '',
    conditions: toConditions(resource),
  };
}

function toLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return { ...(labels ?? {}) };
}

function toRoles(source: { etcd?: boolean; controlPlane?: boolean; worker?: boolean }): NodeRoles {
  return {
    etcd: source.etcd === true,
    controlPlane: source.controlPlane === true,
    worker: source.worker === true,
  };
}

/** `v1.30.14-rancher1-1` → `v1.30.14`: Paddock speaks plain semver. */
export function plainKubernetesVersion(version: string | undefined | null): string | null {
  if (!version) return null;
  const match = /^v?\d+\.\d+\.\d+/.exec(version);
  if (!match) return version;
  return match[0].startsWith('v') ? match[0] : `v${match[0]}`;
}

/** `c-abcde:np-x7k2p` → `c-abcde` (the namespace part of a scoped id). */
export function clusterIdOf(scopedId: string): string {
  const colon = scopedId.indexOf(':');
  return colon === -1 ? scopedId : scopedId.slice(0, colon);
}

/**
 * RKE1 reports control-plane health as `componentStatuses` (filled only for Kubernetes < 1.22,
 * §3.2); each becomes a `ComponentHealthy/<name>` condition so that callers see one list.
 */
function componentConditions(c: V3Cluster): RemoteCondition[] {
  return (c.componentStatuses ?? [])
    .filter(
      (cs): cs is V3ComponentStatus & { name: string } => typeof cs?.name === 'string' && cs.name !== '',
    )
    .map((cs) => {
      const healthy = (cs.conditions ?? []).find((x) => x?.type === 'Healthy');
      const condition: RemoteCondition = {
        type: componentConditionType(cs.name),
        status: toConditionStatus(healthy?.status),
      };
      const message = healthy?.error || healthy?.message;
      if (message) condition.message = message;
      return condition;
    });
}

/**
 * A management cluster that is the `/v3` twin (`c-m-xxxxxxxx`) of a provisioning-v2 cluster: Rancher
 * marks every twin it generates with `provisioning.cattle.io/administrated` and copies the
 * provisioning cluster's labels onto it, Paddock's included. It is reached (and counted) through
 * `/v1`, never as an RKE1 cluster.
 */
export function isProvisioningTwin(c: V3Cluster): boolean {
  return Object.hasOwn(c.annotations ?? {}, 'provisioning.cattle.io/administrated');
}

export function toRemoteCluster(c: V3Cluster): RemoteCluster {
  const status = toStatus(c);
  status.conditions.push(...componentConditions(c));
  return {
    ...status,
    id: c.id,
    managementId: c.id,
    name: c.name ?? '',
    labels: toLabels(c.labels),
    removing: status.state === 'removing' || Boolean(c.removed),
    nodeCount: typeof c.nodeCount === 'number' ? c.nodeCount : 0,
    // The version the cluster runs, as its agent reports it (`version.gitVersion`): during an
    // upgrade the spec already names the new version while the nodes still run the old one, and
    // an upgrade is done only once this moves. The spec's version stands in until the agent has
    // connected (a cluster still provisioning).
    kubernetesVersion:
      plainKubernetesVersion(c.version?.gitVersion) ??
      plainKubernetesVersion(c.rancherKubernetesEngineConfig?.kubernetesVersion),
  };
}

export function toRemoteNodePool(p: V3NodePool): RemoteNodePool {
  return {
    ...toStatus(p),
    id: p.id,
    clusterId: p.clusterId ?? clusterIdOf(p.id),
    hostnamePrefix: p.hostnamePrefix ?? '',
    quantity: typeof p.quantity === 'number' ? p.quantity : 0,
    roles: toRoles(p),
    nodeTemplateId: p.nodeTemplateId ?? '',
    labels: toLabels(p.labels),
  };
}

export function toRemoteNode(n: V3Node): RemoteNode {
  return {
    ...toStatus(n),
    id: n.id,
    clusterId: n.clusterId ?? clusterIdOf(n.id),
    nodePoolId: n.nodePoolId || null,
    hostname: n.hostname || n.requestedHostname || n.nodeName || n.name || '',
    ipAddress: n.ipAddress || null,
    roles: toRoles(n),
    provisioning: !isTrueIn(n, 'Provisioned') || !isTrueIn(n, 'Registered'),
    // The agent's `--label`s are the Kubernetes node's labels, which the v3 node shows.
    registrationId: n.labels?.[PADDOCK_LABELS.registrationId] ?? null,
  };
}

export function toNodeTemplateRef(t: V3NodeTemplate): NodeTemplateRef {
  return { id: t.id, name: t.name ?? '', driver: t.driver ?? '' };
}

export function toClusterCreate(spec: ClusterCreateSpec): V3ClusterCreate {
  const rke: V3ClusterCreate['rancherKubernetesEngineConfig'] = { network: { plugin: 'canal' } };
  if (spec.kubernetesVersion) rke.kubernetesVersion = spec.kubernetesVersion;
  if (spec.backup) rke.services = { etcd: { backupConfig: toBackupConfig(spec.backup) } };
  return { type: 'cluster', name: spec.name, labels: { ...spec.labels }, rancherKubernetesEngineConfig: rke };
}

/**
 * Recurring backups to the cluster's bucket. Rancher checks the bucket exists when keys are
 * given (a missing one is a 500, rancher-212.md §5.5), so the bucket is made first. The endpoint
 * keeps its scheme: an `http://` one is how rke-tools is told to speak plain HTTP.
 */
export function toBackupConfig(backup: ClusterBackupSpec): V3BackupConfig {
  return {
    enabled: true,
    intervalHours: backup.schedule.intervalHours,
    retention: backup.schedule.retention,
    safeTimestamp: true,
    timeout: 300,
    s3BackupConfig: {
      accessKey: backup.target.accessKey,
      secretKey: backup.target.secretKey,
      bucketName: backup.target.bucket,
      endpoint: backup.target.endpoint,
      region: backup.target.region,
      folder: '',
      customCa: '',
    },
  };
}

/** `activating` / `active` / `failed` from the formatter's state, or from `Completed` when absent (§6). */
function toBackupState(state: string | undefined, conditions: RemoteCondition[]): BackupState {
  if (state === 'active' || state === 'activating' || state === 'failed') return state;
  const completed = conditions.find((c) => c.type === 'Completed');
  if (completed?.status === 'True') return 'active';
  if (completed?.status === 'False') return 'failed';
  return 'activating';
}

export function toRemoteBackup(b: V3EtcdBackup): RemoteBackup {
  const conditions = toConditions(b);
  const state = toBackupState(b.state, conditions);
  const completed = conditions.find((c) => c.type === 'Completed');
  return {
    id: b.id,
    clusterId: b.clusterId ?? clusterIdOf(b.id),
    name: b.name ?? b.id.slice(b.id.indexOf(':') + 1),
    createdAt: b.created ?? null,
    state,
    message: state === 'failed' ? b.transitioningMessage || completed?.message || '' : '',
    manual: b.manual === true,
    kubernetesVersion: plainKubernetesVersion(b.status?.kubernetesVersion),
    size: null,
  };
}

export function k8sBackupToRemote(b: K8sEtcdBackup): RemoteBackup {
  const clusterId = b.spec?.clusterId ?? b.metadata?.namespace ?? '';
  const name = b.metadata?.name ?? '';
  return toRemoteBackup({
    id: `${clusterId}:${name}`,
    name,
    clusterId,
    created: b.metadata?.creationTimestamp,
    manual: b.spec?.manual,
    filename: b.spec?.filename,
    status: b.status,
  });
}

export function toNodePoolCreate(spec: {
  clusterId: string;
  hostnamePrefix: string;
  quantity: number;
  roles: NodeRoles;
  nodeTemplateId: string;
  labels: Record<string, string>;
  autoReplaceSeconds?: number | null;
}): V3NodePoolCreate {
  const body: V3NodePoolCreate = {
    type: 'nodePool',
    clusterId: spec.clusterId,
    nodeTemplateId: spec.nodeTemplateId,
    hostnamePrefix: spec.hostnamePrefix,
    quantity: spec.quantity,
    etcd: spec.roles.etcd,
    controlPlane: spec.roles.controlPlane,
    worker: spec.roles.worker,
    labels: { ...spec.labels },
  };
  if (spec.autoReplaceSeconds) body.deleteNotReadyAfterSecs = spec.autoReplaceSeconds;
  return body;
}
