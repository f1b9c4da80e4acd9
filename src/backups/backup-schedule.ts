import type { ClusterRecord } from '../clusters/cluster.types';
import { conflict } from '../common/problem';
import type { OperationParams } from '../operations/operation.types';
import type { BackupScheduleDto } from './backup.dto';
import type { BackupSettingsRecord } from './backup.types';
import type { BackupsRepository } from './backups.repository';

/** 409 for a cluster not yet made on its backend: there is no backup configuration to change. */
export function requireCreatedCluster(cluster: ClusterRecord): void {
  if (!cluster.rancherId || cluster.state === 'provisioning') {
    throw conflict('CLUSTER_NOT_READY', `cluster '${cluster.name}' is still being created`, {
      clusterId: cluster.id,
    });
  }
}

/** A cluster's backup settings, or 409 for a cluster created while backups were off. */
export async function requireBackupSettings(
  backups: BackupsRepository,
  cluster: ClusterRecord,
): Promise<BackupSettingsRecord> {
  const settings = await backups.settingsOf(cluster.id);
  if (!settings)
    throw conflict(
      'BACKUPS_NOT_CONFIGURED',
      `cluster '${cluster.name}' has no backups: it was created while backups were off`,
    );
  return settings;
}

/**
 * The params of an `update-backup-schedule` operation. Both ways of asking for one use it:
 * `PUT …/backups/schedule` and `PATCH …/clusters/{cluster} {"backup": …}`.
 */
export async function backupScheduleChange(
  backups: BackupsRepository,
  cluster: ClusterRecord,
  schedule: BackupScheduleDto,
): Promise<OperationParams> {
  await requireBackupSettings(backups, cluster);
  return { backupSchedule: { intervalHours: schedule.intervalHours, retention: schedule.retention } };
}
