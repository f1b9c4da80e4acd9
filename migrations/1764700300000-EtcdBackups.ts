import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * etcd backups: each cluster's bucket and schedule, and the backends' backups as last synced.
 * `bucket_intent_at` is written before the bucket is asked for, so a crash between the two
 * still leaves a record that the bucket may exist, and undoing the create removes it.
 */
export class EtcdBackups1764700300000 implements MigrationInterface {
  name = 'EtcdBackups1764700300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cluster_backup_settings (
        cluster_id uuid PRIMARY KEY REFERENCES clusters(id),
        bucket varchar(63) NOT NULL,
        interval_hours integer NOT NULL,
        retention integer NOT NULL,
        bucket_intent_at timestamptz,
        bucket_removed_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT cluster_backup_settings_bucket_key UNIQUE (bucket),
        CONSTRAINT cluster_backup_settings_interval_check CHECK (interval_hours BETWEEN 1 AND 168),
        CONSTRAINT cluster_backup_settings_retention_check CHECK (retention BETWEEN 1 AND 100)
      )`);
    await q.query(`
      CREATE TABLE cluster_backups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        backend_id uuid NOT NULL REFERENCES backends(id),
        cluster_id uuid NOT NULL REFERENCES clusters(id),
        rancher_id varchar(255) NOT NULL,
        name varchar(253) NOT NULL,
        kind varchar(16) NOT NULL,
        state varchar(16) NOT NULL,
        message text NOT NULL DEFAULT '',
        kubernetes_version varchar(64),
        size bigint,
        created_at timestamptz,
        synced_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT cluster_backups_rancher_key UNIQUE (backend_id, rancher_id),
        CONSTRAINT cluster_backups_kind_check CHECK (kind IN ('recurring', 'manual')),
        CONSTRAINT cluster_backups_state_check CHECK (state IN ('activating', 'active', 'failed'))
      )`);
    await q.query(
      `CREATE INDEX cluster_backups_cluster_idx ON cluster_backups (cluster_id, created_at DESC)`,
    );
    await q.query(`CREATE INDEX cluster_backups_sync_idx ON cluster_backups (backend_id, synced_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cluster_backups`);
    await q.query(`DROP TABLE cluster_backup_settings`);
  }
}
