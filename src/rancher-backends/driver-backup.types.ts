/** etcd backups as a driver sees them: schedules, S3 targets, snapshots and restores (`backend-driver.ts`). */

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
