/**
 * The objects of provisioning v2 as Rancher writes them (rancher-api.md §9.3; rancher-212.md §3, §5):
 * CAPI machines, etcd snapshots, names, and the steve states clients read. Pure: the controllers in
 * `provisioning.ts` decide when to write them.
 */
import { createHash } from 'node:crypto';
import { uuid } from '../ids';
import { isPlainObject } from '../http';
import type { KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import { setCondition, type Condition } from '../state';
import { defaultState } from './api';
import type { SteveState } from './schema';

export const CLUSTER = 'provisioning.cattle.io.cluster';
export const MACHINE = 'cluster.x-k8s.io.machine';
export const SNAPSHOT = 'rke.cattle.io.etcdsnapshot';
export const CONTROL_PLANE = 'rke.cattle.io.rkecontrolplane';

export const CAPI = 'cluster.x-k8s.io/v1beta1';

/** Phases of `rkecontrolplane.status.etcdSnapshotRestorePhase` in order (rancher-212.md §5.4). */
export const RESTORE_PHASES = [
  'Started',
  'Shutdown',
  'Restore',
  'PostRestorePodCleanup',
  'InitialRestartCluster',
  'PostRestoreNodeCleanup',
  'RestartCluster',
  'Finished',
];
export const RESTORE_MESSAGES: Record<string, string> = {
  Started: 'etcd restore started',
  Shutdown: 'shutting down cluster',
  Restore: 'cluster shutdown complete, running etcd restore',
  PostRestorePodCleanup: 'etcd restore complete, cleaning up pods',
  InitialRestartCluster: 'restarting cluster after etcd restore',
  PostRestoreNodeCleanup: 'cleaning up nodes after etcd restore',
  RestartCluster: 'restarting cluster',
};

export type Spec = Record<string, unknown>;
export interface Pool {
  name: string;
  quantity: number;
  etcdRole: boolean;
  controlPlaneRole: boolean;
  workerRole: boolean;
  driver: string;
  /** `unhealthyNodeTimeout` in ms; 0 when absent or zero (no MachineHealthCheck, rancher-212.md §3.2). */
  unhealthyNodeTimeoutMs: number;
}

export function key(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

export function specOf(object: KubeObject): Spec {
  return isPlainObject(object.spec) ? object.spec : {};
}

export function conditionsOf(object: KubeObject): Condition[] {
  const status = isPlainObject(object.status) ? object.status : {};
  return Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
}

export function rawPools(spec: Spec): Array<Record<string, unknown>> {
  const rke = isPlainObject(spec.rkeConfig) ? spec.rkeConfig : {};
  return Array.isArray(rke.machinePools) ? rke.machinePools.filter(isPlainObject) : [];
}

export function poolsOf(cluster: KubeObject): Pool[] {
  return rawPools(specOf(cluster))
    .filter((pool) => typeof pool.name === 'string' && pool.name !== '')
    .map((pool) => {
      const ref = isPlainObject(pool.machineConfigRef) ? pool.machineConfigRef : {};
      const kind = typeof ref.kind === 'string' ? ref.kind : 'Config';
      const quantity =
        Number.isInteger(pool.quantity) && (pool.quantity as number) >= 0 ? (pool.quantity as number) : 1;
      return {
        name: pool.name as string,
        quantity,
        etcdRole: pool.etcdRole === true,
        controlPlaneRole: pool.controlPlaneRole === true,
        workerRole: pool.workerRole === true,
        driver: kind.replace(/Config$/, '').toLowerCase() || 'machine',
        unhealthyNodeTimeoutMs:
          typeof pool.unhealthyNodeTimeout === 'string' ? (durationMs(pool.unhealthyNodeTimeout) ?? 0) : 0,
      };
    });
}

/** Go's `time.ParseDuration` (what a `metav1.Duration` decodes with): `600s`, `5m`, `1h30m`, `1.5h`. */
export function durationMs(text: string): number | undefined {
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  if (text === '0') return 0;
  const parts = /^(?:\d+(?:\.\d*)?(?:ns|us|µs|ms|s|m|h))+$/.test(text)
    ? [...text.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)]
    : [];
  if (parts.length === 0) return undefined;
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * units[unit], 0);
}

export function poolOf(machine: KubeObject): string {
  return machine.metadata.labels?.['rke.cattle.io/rke-machine-pool-name'] ?? '';
}

export function clusterOf(machine: KubeObject): string {
  return machine.metadata.labels?.['cluster.x-k8s.io/cluster-name'] ?? '';
}

export function marked(machine: KubeObject): boolean {
  return machine.metadata.annotations?.['cluster.x-k8s.io/delete-machine'] !== undefined;
}

export function generationOf(spec: Spec, field: string): number {
  const rke = isPlainObject(spec.rkeConfig) ? spec.rkeConfig : {};
  const value = isPlainObject(rke[field]) ? rke[field].generation : undefined;
  return typeof value === 'number' ? value : 0;
}

export function restoreOf(
  spec: Spec,
): { name: string; generation: number; restoreRKEConfig: string } | undefined {
  const rke = isPlainObject(spec.rkeConfig) ? spec.rkeConfig : {};
  const restore = isPlainObject(rke.etcdSnapshotRestore) ? rke.etcdSnapshotRestore : undefined;
  if (!restore) return undefined;
  return {
    name: typeof restore.name === 'string' ? restore.name : '',
    generation: typeof restore.generation === 'number' ? restore.generation : 0,
    restoreRKEConfig:
      typeof restore.restoreRKEConfig === 'string' && restore.restoreRKEConfig !== ''
        ? restore.restoreRKEConfig
        : 'none',
  };
}

export function stripTimes(status: Record<string, unknown>): unknown {
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  return {
    ...status,
    conditions: conditions.map((c: Condition) => ({
      type: c.type,
      status: c.status,
      message: c.message,
      reason: c.reason,
    })),
  };
}

/** `SafeConcatName(<cluster>, <sanitized snapshot name>, <storage>)` (rancher-212.md §5.3). */
export function snapshotObjectName(cluster: string, snapshotName: string, storage: string): string {
  return safeConcatName(cluster, snapshotName.toLowerCase().replace(/[^-.a-z0-9]/g, '-'), storage);
}

/** wrangler `name.SafeConcatName`: joined by `-`, cut to 57 chars plus a hash when over 63. */
export function safeConcatName(...parts: string[]): string {
  const full = parts.join('-');
  if (full.length <= 63) return full;
  const digest = createHash('sha256').update(full).digest('hex');
  return `${full.slice(0, 57).replace(/-+$/, '')}-${digest.slice(0, 5)}`;
}

/** The phase a client sees (§9.3): `removing`, errors, `provisioning`, `waiting`, `updating`, `active`. */
export function clusterState(object: KubeObject): SteveState {
  if (object.metadata.deletionTimestamp)
    return { name: 'removing', error: false, transitioning: true, message: '' };
  const conditions = conditionsOf(object);
  if (!isPlainObject(specOf(object).rkeConfig)) return defaultState(object);
  const get = (type: string) => conditions.find((c) => c.type === type);
  const phases: Array<[string, string]> = [
    ['Provisioned', 'provisioning'],
    ['Ready', 'waiting'],
    ['Updated', 'updating'],
  ];
  for (const [type, name] of phases) {
    const condition = get(type);
    if (condition?.status === 'False')
      return { name, error: true, transitioning: false, message: condition.message ?? '' };
  }
  if (conditions.length === 0)
    return { name: 'provisioning', error: false, transitioning: true, message: '' };
  for (const [type, name] of phases) {
    const condition = get(type);
    if (condition?.status === 'Unknown')
      return { name, error: false, transitioning: true, message: condition.message ?? '' };
  }
  return { name: 'active', error: false, transitioning: false, message: '' };
}

/** CAPI machines read their phase, lower-cased (wrangler `checkPhase`). */
export function machineState(object: KubeObject): SteveState {
  if (object.metadata.deletionTimestamp)
    return { name: 'removing', error: false, transitioning: true, message: '' };
  const status = isPlainObject(object.status) ? object.status : {};
  const failed = conditionsOf(object).find((c) => c.status === 'False');
  if (failed) return { name: 'failed', error: true, transitioning: false, message: failed.message ?? '' };
  const phase = String(status.phase ?? 'Pending').toLowerCase();
  return { name: phase, error: false, transitioning: phase !== 'running', message: '' };
}

export function snapshotState(object: KubeObject): SteveState {
  if (object.metadata.deletionTimestamp)
    return { name: 'removing', error: false, transitioning: true, message: '' };
  const file = isPlainObject(object.snapshotFile) ? object.snapshotFile : {};
  if (file.status === 'failed')
    return { name: 'failed', error: true, transitioning: false, message: String(file.message ?? '') };
  return { name: 'active', error: false, transitioning: false, message: '' };
}

export function octet(): number {
  return 1 + Math.floor(Math.random() * 254);
}

/** A CAPI Machine of `pool` owned by its MachineSet; `running` makes it a finished one (seeding). */
/**
 * A CAPI machine as its creator writes it, before any controller ran: `Pending`, with its bootstrap
 * (`RKEBootstrap`) and its infrastructure (a node driver's machine, or a `CustomMachine`).
 */
export function pendingMachine(
  namespace: string,
  name: string,
  clusterName: string,
  labels: Record<string, string>,
  infrastructure: { apiVersion: string; kind: string },
): KubeObject {
  const machine: KubeObject = {
    apiVersion: CAPI,
    kind: 'Machine',
    metadata: {
      name,
      namespace,
      uid: uuid(),
      resourceVersion: '',
      creationTimestamp: k8sTime(),
      labels,
      annotations: {},
    },
    spec: {
      clusterName,
      bootstrap: { configRef: { apiVersion: 'rke.cattle.io/v1', kind: 'RKEBootstrap', name, namespace } },
      infrastructureRef: { ...infrastructure, name, namespace },
    },
    status: {
      phase: 'Pending',
      bootstrapReady: false,
      infrastructureReady: false,
      observedGeneration: 1,
      conditions: [] as Condition[],
    },
  };
  (machine.metadata as unknown as Record<string, unknown>).finalizers = ['machine.cluster.x-k8s.io'];
  return machine;
}

export function machineObject(options: {
  cluster: KubeObject;
  pool: Pool;
  name: string;
  machineSet: { name: string; uid: string; deployment: string };
  running: boolean;
  kubernetesVersion: string;
  distro: string;
}): KubeObject {
  const { cluster, pool, name, machineSet, running, kubernetesVersion, distro } = options;
  const { namespace = '', name: clusterName } = cluster.metadata;
  const labels: Record<string, string> = {
    'cluster.x-k8s.io/cluster-name': clusterName,
    'cluster.x-k8s.io/deployment-name': machineSet.deployment,
    'cluster.x-k8s.io/set-name': machineSet.name,
    'machine-template-hash': machineSet.name.slice(machineSet.deployment.length + 1),
    'rke.cattle.io/cluster-name': clusterName,
    'rke.cattle.io/rke-machine-pool-name': pool.name,
  };
  if (pool.etcdRole) labels['rke.cattle.io/etcd-role'] = 'true';
  if (pool.controlPlaneRole) labels['rke.cattle.io/control-plane-role'] = 'true';
  if (pool.workerRole) labels['rke.cattle.io/worker-role'] = 'true';
  const kind = `${pool.driver[0].toUpperCase()}${pool.driver.slice(1)}Machine`;
  const machine = pendingMachine(namespace, name, clusterName, labels, {
    apiVersion: 'rke-machine.cattle.io/v1',
    kind,
  });
  machine.metadata.generateName = `${machineSet.name}-`;
  (machine.spec as Spec).nodeDeletionTimeout = '10s';
  const meta = machine.metadata as unknown as Record<string, unknown>;
  meta.generation = 1;
  meta.ownerReferences = [
    {
      apiVersion: CAPI,
      kind: 'MachineSet',
      name: machineSet.name,
      uid: machineSet.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
  if (running) {
    (machine.spec as Spec).providerID = `${distro}://${name}`;
    const status: Record<string, unknown> = {
      phase: 'Running',
      bootstrapReady: true,
      infrastructureReady: true,
      observedGeneration: 1,
      addresses: machineAddresses(name),
      nodeRef: { apiVersion: 'v1', kind: 'Node', name },
      nodeInfo: { kubeletVersion: kubernetesVersion, operatingSystem: 'linux', architecture: 'amd64' },
      conditions: [] as Condition[],
    };
    for (const type of ['BootstrapReady', 'InfrastructureReady', 'NodeHealthy', 'Ready']) {
      setCondition(status.conditions as Condition[], type, 'True');
    }
    machine.status = status;
  }
  return machine;
}

export function machineAddresses(name: string): Array<{ type: string; address: string }> {
  return [
    { type: 'InternalIP', address: `10.${octet()}.${octet()}.${octet()}` },
    { type: 'Hostname', address: name },
  ];
}

/** One `rke.cattle.io` ETCDSnapshot as `snapshotbackpopulate` writes it (rancher-212.md §5.3). */
export function snapshotObject(options: {
  cluster: KubeObject;
  machine: KubeObject;
  snapshotName: string;
  storage: 'local' | 's3';
  metadata: string;
  distro: string;
  s3?: Record<string, unknown>;
}): KubeObject {
  const { cluster, machine, snapshotName, storage, metadata, distro, s3 } = options;
  const { namespace = '', name: clusterName } = cluster.metadata;
  const labels: Record<string, string> = { 'rke.cattle.io/cluster-name': clusterName };
  if (storage === 'local') {
    labels['rke.cattle.io/machine-id'] = machine.metadata.uid;
    labels['rke.cattle.io/node-name'] = machine.metadata.name;
  }
  const location =
    storage === 's3'
      ? `s3://${String(s3?.bucket ?? '')}/${s3?.folder ? `${String(s3.folder)}/` : ''}${snapshotName}`
      : `file:///var/lib/rancher/${distro}/server/db/snapshots/${snapshotName}`;
  const snapshotFile: Record<string, unknown> = {
    name: snapshotName,
    nodeName: storage === 'local' ? machine.metadata.name : 's3',
    location,
    metadata,
    createdAt: k8sTime(),
    size: 12_345_678,
    status: 'successful',
  };
  if (s3) {
    snapshotFile.s3 = {
      endpoint: s3.endpoint ?? '',
      endpointCA: s3.endpointCA ?? '',
      skipSSLVerify: s3.skipSSLVerify ?? false,
      bucket: s3.bucket ?? '',
      region: s3.region ?? '',
      folder: s3.folder ?? '',
    };
  }
  const object: KubeObject = {
    apiVersion: 'rke.cattle.io/v1',
    kind: 'ETCDSnapshot',
    metadata: {
      name: snapshotObjectName(clusterName, snapshotName, storage),
      namespace,
      uid: uuid(),
      resourceVersion: '',
      creationTimestamp: k8sTime(),
      labels,
      annotations: {
        'etcdsnapshot.rke.io/storage': storage,
        'etcdsnapshot.rke.io/snapshot-name': snapshotName,
      },
    },
    spec: { clusterName },
    snapshotFile,
    status: { missing: false },
  };
  (object.metadata as unknown as Record<string, unknown>).ownerReferences = [
    storage === 's3'
      ? { apiVersion: CAPI, kind: 'Cluster', name: clusterName, uid: cluster.metadata.uid }
      : { apiVersion: CAPI, kind: 'Machine', name: machine.metadata.name, uid: machine.metadata.uid },
  ];
  return object;
}

/** `spec.rkeConfig.etcd` of a provisioning cluster, if it has one. */
export function etcdConfigOf(cluster: KubeObject): Record<string, unknown> | undefined {
  const rke = specOf(cluster).rkeConfig;
  return isPlainObject(rke) && isPlainObject(rke.etcd) ? rke.etcd : undefined;
}

/**
 * Hours between two firings of a snapshot cron, for the schedules a client sets: minute, hour
 * step N, any day (every N hours), and minute, hour, day-of-month step D (every D days). Any other spec fires on RKE2's default of
 * every 12 hours here: the simulator has no clock of days to match it against.
 */
export function cronIntervalHours(cron: unknown): number {
  const fields = typeof cron === 'string' ? cron.trim().split(/\s+/) : [];
  if (fields.length !== 5) return 12;
  const step = (field: string) => (/^\*\/\d+$/.test(field) ? Number(field.slice(2)) : 0);
  if (step(fields[1]) > 0 && fields[2] === '*') return step(fields[1]);
  if (/^\d+$/.test(fields[1]) && step(fields[2]) > 0) return 24 * step(fields[2]);
  return 12;
}

/** When a snapshot was taken, as its file records it. */
export function createdAtOf(snapshot: KubeObject): string {
  const file = isPlainObject(snapshot.snapshotFile) ? snapshot.snapshotFile : {};
  return String(file.createdAt ?? snapshot.metadata.creationTimestamp ?? '');
}
