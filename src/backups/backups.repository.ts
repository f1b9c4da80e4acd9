import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { RemoteBackup } from '../rancher-backends/backend-driver';
import type { BackupRecord, BackupSettingsRecord, NewBackupRow } from './backup.types';

interface SettingsRow {
  cluster_id: string;
  bucket: string;
  interval_hours: number;
  retention: number;
  bucket_intent_at: Date | null;
  bucket_removed_at: Date | null;
}

interface BackupRow {
  id: string;
  cluster_id: string;
  rancher_id: string;
  name: string;
  kind: 'recurring' | 'manual';
  state: BackupRecord['state'];
  message: string;
  kubernetes_version: string | null;
  size: string | null;
  created_at: Date | null;
}

const toSettings = (r: SettingsRow): BackupSettingsRecord => ({
  clusterId: r.cluster_id,
  bucket: r.bucket,
  intervalHours: r.interval_hours,
  retention: r.retention,
  bucketIntentAt: r.bucket_intent_at,
  bucketRemovedAt: r.bucket_removed_at,
});

const toBackup = (r: BackupRow): BackupRecord => ({
  id: r.id,
  clusterId: r.cluster_id,
  rancherId: r.rancher_id,
  name: r.name,
  kind: r.kind,
  state: r.state,
  message: r.message,
  kubernetesVersion: r.kubernetes_version,
  size: r.size === null ? null : Number(r.size),
  createdAt: r.created_at,
});

/** The `cluster_backup_settings` and `cluster_backups` tables. */
@Injectable()
export class BackupsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** In the create's transaction: the cluster's bucket and schedule. */
  async insertSettings(clusterId: string, bucket: string, intervalHours: number, retention: number) {
    await this.uow.manager.query(
      `INSERT INTO cluster_backup_settings (cluster_id, bucket, interval_hours, retention) VALUES ($1, $2, $3, $4)`,
      [clusterId, bucket, intervalHours, retention],
    );
  }

  async settingsOf(clusterId: string): Promise<BackupSettingsRecord | null> {
    const rows: SettingsRow[] = await this.uow.manager.query(
      `SELECT * FROM cluster_backup_settings WHERE cluster_id = $1`,
      [clusterId],
    );
    return rows[0] ? toSettings(rows[0]) : null;
  }

  /** Written before the bucket is asked for: from here on, undoing the create must remove it. */
  async markBucketIntent(clusterId: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE cluster_backup_settings SET bucket_intent_at = coalesce(bucket_intent_at, now()),
         bucket_removed_at = NULL, updated_at = now() WHERE cluster_id = $1`,
      [clusterId],
    );
  }

  async markBucketRemoved(clusterId: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE cluster_backup_settings SET bucket_removed_at = now(), updated_at = now() WHERE cluster_id = $1`,
      [clusterId],
    );
  }

  async setSchedule(clusterId: string, intervalHours: number, retention: number): Promise<void> {
    await this.uow.manager.query(
      `UPDATE cluster_backup_settings SET interval_hours = $2, retention = $3, updated_at = now()
       WHERE cluster_id = $1`,
      [clusterId, intervalHours, retention],
    );
  }

  /** The cluster's backups, newest first. */
  async listFor(clusterId: string, limit: number): Promise<BackupRecord[]> {
    const rows: BackupRow[] = await this.uow.manager.query(
      `SELECT * FROM cluster_backups WHERE cluster_id = $1
       ORDER BY created_at DESC NULLS LAST, name LIMIT $2`,
      [clusterId, limit],
    );
    return rows.map(toBackup);
  }

  async findByName(clusterId: string, name: string): Promise<BackupRecord | null> {
    const rows: BackupRow[] = await this.uow.manager.query(
      `SELECT * FROM cluster_backups WHERE cluster_id = $1 AND name = $2`,
      [clusterId, name],
    );
    return rows[0] ? toBackup(rows[0]) : null;
  }

  /**
   * One page of a backend's backups, for the clusters Paddock manages there (others are skipped
   * in SQL), stamped with the cycle's time so the ones no page named can be dropped afterwards.
   */
  async upsertPage(backendId: string, page: RemoteBackup[], cycleAt: Date): Promise<number> {
    if (page.length === 0) return 0;
    const rows = page.map((b) => toRow(b));
    const result: Array<{ n: number }> = await this.uow.manager.query(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::bigint[], $10::timestamptz[])
           AS t(rancher_id, rancher_cluster_id, name, kind, state, message, kubernetes_version, size, created_at)
       ), upserted AS (
         INSERT INTO cluster_backups
           (backend_id, cluster_id, rancher_id, name, kind, state, message, kubernetes_version, size, created_at, synced_at)
         SELECT $1, c.id, i.rancher_id, i.name, i.kind, i.state, i.message, i.kubernetes_version, i.size, i.created_at, $11
         FROM input i JOIN clusters c ON c.backend_id = $1 AND c.rancher_id = i.rancher_cluster_id
         ON CONFLICT (backend_id, rancher_id) DO UPDATE SET
           state = EXCLUDED.state, message = EXCLUDED.message, kubernetes_version = EXCLUDED.kubernetes_version,
           size = EXCLUDED.size, created_at = EXCLUDED.created_at, synced_at = EXCLUDED.synced_at
         RETURNING 1)
       SELECT count(*)::int AS n FROM upserted`,
      [
        backendId,
        rows.map((r) => r.rancherId),
        rows.map((r) => r.rancherClusterId),
        rows.map((r) => r.name),
        rows.map((r) => r.kind),
        rows.map((r) => r.state),
        rows.map((r) => r.message),
        rows.map((r) => r.kubernetesVersion),
        rows.map((r) => r.size),
        rows.map((r) => r.createdAt),
        cycleAt,
      ],
    );
    return result[0]?.n ?? 0;
  }

  /** Backups the backend no longer lists (rotated by retention, or deleted with their cluster). */
  async deleteNotSyncedSince(backendId: string, cycleAt: Date): Promise<number> {
    const result: [unknown[], number] = await this.uow.manager.query(
      `DELETE FROM cluster_backups WHERE backend_id = $1 AND synced_at < $2`,
      [backendId, cycleAt],
    );
    return result[1];
  }

  /** Each live cluster with backups and its schedule. */
  async schedules(): Promise<Array<{ project: string; cluster: string; intervalHours: number }>> {
    const rows: Array<{ project: string; cluster: string; interval_hours: number }> =
      await this.uow.manager.query(
        `SELECT p.name AS project, c.name AS cluster, s.interval_hours
       FROM cluster_backup_settings s JOIN clusters c ON c.id = s.cluster_id JOIN projects p ON p.id = c.project_id
       WHERE c.state IN ('active', 'updating', 'error')`,
      );
    return rows.map((r) => ({ project: r.project, cluster: r.cluster, intervalHours: r.interval_hours }));
  }

  /** Each live cluster with backups: its newest `active` backup, its age and its schedule (for the gauges). */
  async newestGoodBackups(): Promise<
    Array<{ project: string; cluster: string; newestAt: Date | null; createdAt: Date; intervalHours: number }>
  > {
    const rows: Array<{
      project: string;
      cluster: string;
      newest_at: Date | null;
      created_at: Date;
      interval_hours: number;
    }> = await this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, c.created_at, s.interval_hours,
         (SELECT max(b.created_at) FROM cluster_backups b WHERE b.cluster_id = c.id AND b.state = 'active') AS newest_at
       FROM cluster_backup_settings s JOIN clusters c ON c.id = s.cluster_id JOIN projects p ON p.id = c.project_id
       WHERE c.state IN ('active', 'updating', 'error')`,
    );
    return rows.map((r) => ({
      project: r.project,
      cluster: r.cluster,
      newestAt: r.newest_at,
      createdAt: r.created_at,
      intervalHours: r.interval_hours,
    }));
  }
}

function toRow(b: RemoteBackup): NewBackupRow {
  return {
    rancherId: b.id,
    rancherClusterId: b.clusterId,
    name: b.name,
    kind: b.manual ? 'manual' : 'recurring',
    state: b.state,
    message: b.message,
    kubernetesVersion: b.kubernetesVersion,
    size: b.size === null ? null : String(b.size),
    createdAt: b.createdAt,
  };
}
