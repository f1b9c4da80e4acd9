/** Backups as the services, steps and repository speak of them. */

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
