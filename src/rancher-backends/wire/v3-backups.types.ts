/**
 * Rancher norman `/v3` etcd backups (rancher-api.md §6): a cluster's backup configuration, the
 * backup objects, and their mapping to `RemoteBackup`.
 */

import type { BackupState, ClusterBackupSpec, RemoteBackup, RemoteCondition } from '../backend-driver';
import {
  clusterIdOf,
  plainKubernetesVersion,
  toConditions,
  type V3Condition,
  type V3Resource,
} from './v3-common.types';

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
