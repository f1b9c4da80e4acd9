import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import { ClustersRepository } from '../clusters/clusters.repository';
import type { ClusterRecord } from '../clusters/cluster.types';
import { OperationDto } from '../clusters/operation.dto';
import { conflict, notFound } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { OperationRecorder } from '../operations/operation-recorder.service';
import type { OperationParams, OperationType } from '../operations/operation.types';
import { BackupListDto, BackupScheduleDto } from './backup.dto';
import type { BackupRecord, BackupSettingsRecord } from './backup.types';
import { BackupsRepository } from './backups.repository';
import { backupScheduleChange, requireBackupSettings, requireCreatedCluster } from './backup-schedule';

/** The longest list one answer carries: retention is at most 100, manual backups add a few. */
const MAX_LISTED = 1000;

/**
 * Backups of a cluster: the list as last synced, a backup now, a restore, a new schedule. Each
 * change is an operation recorded in one transaction; the cluster's one-operation-at-a-time
 * rule (a unique index) refuses a second while one runs.
 */
@Injectable()
export class BackupsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly reads: ClusterReads,
    private readonly clusters: ClustersRepository,
    private readonly recorder: OperationRecorder,
    private readonly backups: BackupsRepository,
  ) {}

  async list(projectName: string, clusterName: string): Promise<BackupListDto> {
    const project = await this.lookup.requireProject(projectName);
    const cluster = await this.lookup.requireCluster(project, clusterName);
    const settings = await this.backups.settingsOf(cluster.id);
    const items = await this.backups.listFor(cluster.id, MAX_LISTED);
    return {
      bucket: settings?.bucket ?? null,
      schedule: settings ? { intervalHours: settings.intervalHours, retention: settings.retention } : null,
      items: items.map((b) => ({
        name: b.name,
        createdAt: b.createdAt?.toISOString() ?? null,
        state: b.state,
        message: b.message,
        kind: b.kind,
        kubernetesVersion: b.kubernetesVersion,
        size: b.size,
      })),
    };
  }

  /** A backup now: 202 with the operation that succeeds once the backend reports it `active`. */
  takeBackup(projectName: string, clusterName: string): Promise<OperationDto> {
    return this.record(projectName, clusterName, 'take-backup', async (cluster) => {
      await this.requireBackups(cluster);
      return {};
    });
  }

  /**
   * One call restores: refused (404) for a backup this cluster does not have, (409) for one that
   * is not `active`. The cluster reads `updating` until the operation ends.
   */
  restore(
    projectName: string,
    clusterName: string,
    backupName: string,
    restoreKubernetesVersion: boolean,
  ): Promise<OperationDto> {
    return this.record(projectName, clusterName, 'restore-backup', async (cluster) => {
      const backup = await this.requireBackup(cluster, backupName);
      if (backup.state !== 'active') {
        throw conflict(
          'BACKUP_NOT_ACTIVE',
          `backup '${backupName}' is ${backup.state}; only an active backup can be restored`,
          {
            state: backup.state,
          },
        );
      }
      await this.clusters.setState(cluster.id, 'updating');
      const before = cluster.state === 'error' || cluster.state === 'updating' ? cluster.state : 'active';
      return {
        backupId: backup.rancherId,
        backupName: backup.name,
        restoreKubernetesVersion,
        clusterStateBefore: before,
      };
    });
  }

  updateSchedule(
    projectName: string,
    clusterName: string,
    schedule: BackupScheduleDto,
  ): Promise<OperationDto> {
    return this.record(projectName, clusterName, 'update-backup-schedule', async (cluster) => {
      return backupScheduleChange(this.backups, cluster, schedule);
    });
  }

  private async record(
    projectName: string,
    clusterName: string,
    type: OperationType,
    prepare: (cluster: ClusterRecord) => Promise<OperationParams>,
  ): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      requireCreatedCluster(cluster);
      // A second operation while one runs is refused (409) by the operations' unique index,
      // and this whole transaction, the state change with it, rolls back.
      await this.recorder.recordInTransaction({
        id: operationId,
        type,
        projectId: project.id,
        clusterId: cluster.id,
        nodePoolId: null,
        pools: [],
        params: await prepare(cluster),
      });
    });
    return this.reads.operation(operationId);
  }

  private requireBackups(cluster: ClusterRecord): Promise<BackupSettingsRecord> {
    return requireBackupSettings(this.backups, cluster);
  }

  private async requireBackup(cluster: ClusterRecord, name: string): Promise<BackupRecord> {
    const backup = await this.backups.findByName(cluster.id, name);
    if (!backup) throw notFound('backup', name);
    return backup;
  }
}
