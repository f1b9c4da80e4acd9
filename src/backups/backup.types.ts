/** Backups as the services, steps and repository speak of them. */
import type { BackendKind } from '../rancher-backends/backend-driver';

/**
 * The backend kinds whose etcd backups Paddock drives. RKE2 keeps its snapshots as
 * `rke.cattle.io.etcdsnapshots` behind a cloud credential and generation counters on the
 * provisioning cluster (rancher-212.md §5), which the rke2 driver does not speak yet: clusters on
 * rke2 backends get no bucket and no schedule, their backup routes answer 409, and the sync does
 * not list their snapshots.
 */
export const KINDS_WITH_BACKUPS: ReadonlySet<BackendKind> = new Set<BackendKind>(['rke1']);

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
