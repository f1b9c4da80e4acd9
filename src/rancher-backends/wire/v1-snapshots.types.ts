/**
 * Steve `/v1` etcd snapshots and RKE control planes (rancher-212.md §5.3–§5.4) and their mapping to
 * Paddock's domain types.
 */

import { gunzipSync } from 'node:zlib';
import type { BackupState, RemoteBackup } from '../backend-driver';
import { FLEET_NAMESPACE, type SteveObject } from './v1-common.types';

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
