/**
 * etcd backups of an rke2 cluster (rancher-212.md §5): the schedule and a manual snapshot are
 * changes of the provisioning cluster's `rkeConfig`, restores too; only the S3 copies are
 * reported as backups: the local ones die with their node. Where they go: `etcd-s3.ts`.
 */

import type { ClusterBackupSpec, RemoteBackup, RestoreProgress } from '../backend-driver';
import { PADDOCK_LABELS } from '../backend-driver';
import { isBackendError } from '../backend.errors';
import { RancherClient } from '../rancher-client';
import {
  EtcdSnapshot,
  FLEET_NAMESPACE,
  ProvisioningCluster,
  RkeControlPlane,
  SNAPSHOT_CLUSTER_LABEL,
  isS3Snapshot,
  splitClusterId,
  toRemoteCluster,
  toRemoteSnapshot,
} from '../wire/v1.types';
import { ensureBackupCredential, insecureS3Config, toEtcdConfig } from './etcd-s3';
import { ROUTES, clusterRef, gone, readCluster, steveObject, updateCluster } from './steve-requests';

export async function setBackupSchedule(
  client: RancherClient,
  clusterId: string,
  backup: ClusterBackupSpec,
): Promise<void> {
  const current = await readCluster(client, clusterId);
  if (!current) throw gone(client, 'PUT', clusterId);
  const credential = await ensureBackupCredential(client, paddockIdOf(client, current, clusterId), backup);
  const etcd = toEtcdConfig(backup, credential);
  const global = insecureS3Config(backup).machineGlobalConfig;
  const updated = await updateCluster(client, clusterId, (c) => {
    const rke = c.spec!.rkeConfig!;
    const wanted = {
      etcd: { ...(rke.etcd as object), ...etcd },
      machineGlobalConfig: { ...(rke.machineGlobalConfig as object), ...global },
    };
    if (
      JSON.stringify(rke.etcd) === JSON.stringify(wanted.etcd) &&
      (!global || JSON.stringify(rke.machineGlobalConfig) === JSON.stringify(wanted.machineGlobalConfig))
    )
      return false;
    rke.etcd = wanted.etcd;
    if (global) rke.machineGlobalConfig = wanted.machineGlobalConfig;
    return true;
  });
  if (!updated) throw gone(client, 'PUT', clusterId);
}

/**
 * Raises `etcdSnapshotCreate.generation`. The answer names no snapshot, so what is returned is a
 * marker (`activating`) that `getBackup` resolves: the first on-demand S3 snapshot of the
 * cluster newer than the newest on-demand one there was before the raise (a scheduled snapshot
 * landing in that window is not it).
 */
export async function takeBackup(client: RancherClient, clusterId: string): Promise<RemoteBackup> {
  const ref = clusterRef(client, clusterId);
  const before = (await s3SnapshotsOf(client, ref.name)).map(toRemoteSnapshot).filter((b) => b.manual);
  const newest = before.reduce<string>(
    (max, b) => ((b.createdAt ?? '') > max ? (b.createdAt ?? '') : max),
    '',
  );
  const atNewest = before.filter((b) => (b.createdAt ?? '') === newest).map((b) => b.name);
  let generation = 0;
  const updated = await updateCluster(client, clusterId, (c) => {
    const rke = c.spec!.rkeConfig!;
    const create = (rke.etcdSnapshotCreate ?? {}) as { generation?: number };
    generation = (typeof create.generation === 'number' ? create.generation : 0) + 1;
    rke.etcdSnapshotCreate = { ...create, generation };
    return true;
  });
  if (!updated) throw gone(client, 'PUT', clusterId);
  const marker = [PENDING_SNAPSHOT, clusterId, String(generation), newest, ...atNewest].join('|');
  return pendingSnapshot(marker, clusterId, ref.name, generation);
}

export async function getBackup(client: RancherClient, id: string): Promise<RemoteBackup | null> {
  if (id.startsWith(`${PENDING_SNAPSHOT}|`)) return resolvePending(client, id);
  const ref = splitClusterId(id);
  if (!ref) return null;
  try {
    const res = await client.request<EtcdSnapshot>({
      method: 'GET',
      route: ROUTES.snapshot,
      params: ref,
    });
    return toRemoteSnapshot(steveObject(client, res.data, 'GET', id));
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return null;
    throw error;
  }
}

export async function* backupPages(client: RancherClient): AsyncGenerator<RemoteBackup[]> {
  for await (const page of client.stevePages<EtcdSnapshot>(
    ROUTES.snapshotsIn,
    {},
    { namespace: FLEET_NAMESPACE },
  ))
    yield page.filter(isS3Snapshot).map(toRemoteSnapshot);
}

/**
 * Sets `etcdSnapshotRestore` with the next generation. The same request (snapshot and mode) still
 * pending or under way is not sent again, so a retry restores once; once that restore finished
 * or failed, the same request is a new restore.
 */
export async function restoreBackup(
  client: RancherClient,
  clusterId: string,
  backupId: string,
  restoreKubernetesVersion: boolean,
): Promise<void> {
  const snapshot = splitClusterId(backupId)?.name;
  if (!snapshot) throw client.unexpected({ method: 'PUT', path: backupId }, 'not an etcd snapshot id');
  const mode = restoreKubernetesVersion ? 'kubernetesVersion' : 'none';
  const status = (await readControlPlane(client, clusterId))?.status;
  const taken = status?.etcdSnapshotRestore?.generation ?? 0;
  const settled = ['Finished', 'Failed'].includes(status?.etcdSnapshotRestorePhase ?? '');
  const updated = await updateCluster(client, clusterId, (c) => {
    const rke = c.spec!.rkeConfig!;
    const current = (rke.etcdSnapshotRestore ?? {}) as {
      name?: string;
      generation?: number;
      restoreRKEConfig?: string;
    };
    const generation = current.generation ?? 0;
    if (current.name === snapshot && current.restoreRKEConfig === mode && (generation > taken || !settled))
      return false;
    rke.etcdSnapshotRestore = { name: snapshot, generation: generation + 1, restoreRKEConfig: mode };
    return true;
  });
  if (!updated) throw gone(client, 'PUT', clusterId);
}

export async function restoreProgress(client: RancherClient, clusterId: string): Promise<RestoreProgress> {
  // The control plane first: the cluster's conditions are copied from it, so a cluster read
  // after it is at least as new (read the other way round, a `Failed` phase could come with the
  // message of the phase before it).
  const status = (await readControlPlane(client, clusterId))?.status;
  const cluster = await readCluster(client, clusterId);
  if (!cluster) return { phase: 'gone' };
  const wanted = (cluster.spec?.rkeConfig?.etcdSnapshotRestore ?? {}) as { generation?: number };
  // Until the control plane records this generation, the phase it shows is an older restore's.
  if ((status?.etcdSnapshotRestore?.generation ?? 0) !== (wanted.generation ?? 0))
    return { phase: 'running' };
  const remote = toRemoteCluster(cluster);
  if (status?.etcdSnapshotRestorePhase === 'Failed') {
    const ready = remote.conditions.find((c) => c.type === 'Ready' && c.status === 'False');
    return { phase: 'failed', message: ready?.message || remote.message || 'the etcd restore failed' };
  }
  return status?.etcdSnapshotRestorePhase === 'Finished' && remote.state === 'active'
    ? { phase: 'done' }
    : { phase: 'running' };
}

export function paddockIdOf(client: RancherClient, cluster: ProvisioningCluster, clusterId: string): string {
  const id = cluster.metadata?.labels?.[PADDOCK_LABELS.clusterId];
  if (!id) throw client.unexpected({ method: 'GET', path: clusterId }, 'the cluster has no Paddock label');
  return id;
}

export async function s3SnapshotsOf(client: RancherClient, cluster: string): Promise<EtcdSnapshot[]> {
  const items = await client.listAllSteve<EtcdSnapshot>(
    ROUTES.snapshotsIn,
    { labelSelector: `${SNAPSHOT_CLUSTER_LABEL}=${cluster}` },
    { namespace: FLEET_NAMESPACE },
  );
  return items.filter(
    (s) =>
      (s.spec?.clusterName ?? s.metadata?.labels?.[SNAPSHOT_CLUSTER_LABEL]) === cluster &&
      isS3Snapshot(s) &&
      !s.metadata?.deletionTimestamp,
  );
}

/** A `takeBackup` marker: the snapshot made for it once it exists, else the marker again. */
export async function resolvePending(client: RancherClient, marker: string): Promise<RemoteBackup | null> {
  const [, clusterId, generation, newest, ...atNewest] = marker.split('|');
  const ref = splitClusterId(clusterId);
  if (!ref || !(await readCluster(client, clusterId))) return null;
  const made = (await s3SnapshotsOf(client, ref.name))
    .map(toRemoteSnapshot)
    // Only an on-demand snapshot answers the bump: a scheduled one may land meanwhile.
    .filter((b) => {
      if (!b.manual) return false;
      const at = b.createdAt ?? '';
      return at > newest || (at === newest && !atNewest.includes(b.name));
    })
    .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
  if (made[0]) return { ...made[0], manual: true };
  return pendingSnapshot(marker, clusterId, ref.name, generation);
}

export async function readControlPlane(
  client: RancherClient,
  clusterId: string,
): Promise<RkeControlPlane | null> {
  const ref = clusterRef(client, clusterId);
  try {
    const res = await client.request<RkeControlPlane>({
      method: 'GET',
      route: ROUTES.controlPlane,
      params: ref,
    });
    return res.data ?? null;
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return null;
    throw error;
  }
}

/** Marks a `takeBackup` answer that names no snapshot yet (see `takeBackup`). */
const PENDING_SNAPSHOT = 'pending-snapshot';

/** The backup a raised `etcdSnapshotCreate.generation` stands for until its snapshot is listed. */
const pendingSnapshot = (
  marker: string,
  clusterId: string,
  clusterName: string,
  generation: number | string,
): RemoteBackup => ({
  id: marker,
  clusterId,
  name: `${clusterName} snapshot generation ${generation}`,
  createdAt: null,
  state: 'activating',
  message: '',
  manual: true,
  kubernetesVersion: null,
  size: null,
});
