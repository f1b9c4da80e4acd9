import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Clusters that expire and operations that can be cancelled. A cluster may carry `expires_at`
 * (the expiry sweep deletes it once past; the partial index keeps that sweep to the few live
 * clusters that have one); a project's quota may cap how long its clusters live. An operation
 * records when and by whom its cancel was asked for, and may end `cancelled`.
 */
export class ClusterExpiryOperationCancel1764700100000 implements MigrationInterface {
  name = 'ClusterExpiryOperationCancel1764700100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clusters ADD COLUMN expires_at timestamptz`);
    await q.query(`
      CREATE INDEX clusters_expires_at_idx ON clusters (expires_at)
      WHERE expires_at IS NOT NULL AND state NOT IN ('deleted', 'failed', 'deleting')`);
    await q.query(`
      ALTER TABLE project_quotas ADD COLUMN max_cluster_lifetime_seconds integer,
        ADD CONSTRAINT project_quotas_max_lifetime_check CHECK (max_cluster_lifetime_seconds > 0)`);
    await q.query(`
      ALTER TABLE operations
        ADD COLUMN cancel_requested_at timestamptz,
        ADD COLUMN cancel_requested_by varchar(128),
        DROP CONSTRAINT operations_state_check,
        ADD CONSTRAINT operations_state_check CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE operations SET state = 'failed' WHERE state = 'cancelled'`);
    await q.query(`
      ALTER TABLE operations
        DROP CONSTRAINT operations_state_check,
        ADD CONSTRAINT operations_state_check CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
        DROP COLUMN cancel_requested_by,
        DROP COLUMN cancel_requested_at`);
    await q.query(`
      ALTER TABLE project_quotas DROP CONSTRAINT project_quotas_max_lifetime_check,
        DROP COLUMN max_cluster_lifetime_seconds`);
    await q.query(`DROP INDEX clusters_expires_at_idx`);
    await q.query(`ALTER TABLE clusters DROP COLUMN expires_at`);
  }
}
