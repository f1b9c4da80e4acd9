/** Backups as the services, steps and repository speak of them. */
import type { BackendKind } from '../rancher-backends/backend-driver';

/**
 * The backend kinds whose etcd backups Paddock drives: both. RKE1 writes to S3 from the cluster's
 * `backupConfig`; RKE2 through a cloud credential and generation counters on the provisioning
 * cluster (rancher-212.md §5). A kind missing here would get no bucket or schedule, 409 on its
 * backup routes, 422 for an explicit `backup` on create, and no snapshots synced.
 */
export const KINDS_WITH_BACKUPS: ReadonlySet<BackendKind> = new Set<BackendKind>(['rke1', 'rke2']);

export interface BackupSettingsRecord {
  clusterId: string;
  bucket: string;
  intervalHours: number;
  retention: number;
  /** Set before the bucket was first asked for: the bucket may exist from then on. */
  bucketIntentAt: Date | null;
  bucketRemovedAt: Date | null;
}

export type BackupKind = 'recurring' | 'manual';

export interface BackupRecord {
  id: string;
  clusterId: string;
  rancherId: string;
  name: string;
  kind: BackupKind;
  state: 'activating' | 'active' | 'failed';
  message: string;
  kubernetesVersion: string | null;
  size: number | null;
  createdAt: Date | null;
}

export interface NewBackupRow {
  rancherId: string;
  rancherClusterId: string;
  name: string;
  kind: BackupKind;
  state: BackupRecord['state'];
  message: string;
  kubernetesVersion: string | null;
  size: string | null;
  createdAt: string | null;
}
