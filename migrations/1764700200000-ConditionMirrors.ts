import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the monitoring gauges read, kept so that a scrape is a few index scans rather than a walk
 * through every node's JSON:
 * - nodes keep their conditions (as the backend reports them), the names of the unhealthy ones,
 *   and since when they have been provisioning; clusters the names of their unhealthy conditions;
 *   partial indexes hold only the rows a gauge shows (unhealthy or provisioning), so their size
 *   follows the trouble in the fleet, not the fleet.
 * - `operation_durations` is the histogram of finished operations, one row per type, outcome and
 *   bucket, kept by a trigger: every writer of `operations.state` counts, in the transaction that
 *   finishes the operation, and every replica reads the same numbers.
 */
export class ConditionMirrors1764700200000 implements MigrationInterface {
  name = 'ConditionMirrors1764700200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE nodes
        ADD COLUMN conditions jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN unhealthy_conditions text[] NOT NULL DEFAULT '{}',
        ADD COLUMN provisioning_since timestamptz`);
    await q.query(`ALTER TABLE clusters ADD COLUMN unhealthy_conditions text[] NOT NULL DEFAULT '{}'`);
    await q.query(
      `CREATE INDEX nodes_unhealthy_idx ON nodes (cluster_id) WHERE cardinality(unhealthy_conditions) > 0`,
    );
    await q.query(
      `CREATE INDEX nodes_provisioning_idx ON nodes (cluster_id) WHERE provisioning_since IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX clusters_unhealthy_idx ON clusters (project_id) WHERE cardinality(unhealthy_conditions) > 0`,
    );
    await q.query(
      `CREATE INDEX clusters_provisioning_idx ON clusters (project_id) WHERE state = 'provisioning'`,
    );

    await q.query(`
      CREATE TABLE operation_durations (
        type varchar(32) NOT NULL,
        outcome varchar(16) NOT NULL,
        le double precision NOT NULL,
        observations bigint NOT NULL,
        sum_seconds double precision NOT NULL,
        PRIMARY KEY (type, outcome, le)
      )`);
    // The bucket bounds (seconds) are OPERATION_DURATION_BUCKETS in src/clusters/cluster-metrics.repository.ts.
    await q.query(`
      CREATE FUNCTION paddock_record_operation_duration() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        seconds double precision := greatest(0, extract(epoch FROM coalesce(NEW.finished_at, now()) - NEW.created_at));
        bound double precision;
      BEGIN
        SELECT min(b) INTO bound
        FROM unnest('{1,5,15,30,60,120,300,600,900,1200,1800,3600,Infinity}'::double precision[]) b
        WHERE b >= seconds;
        INSERT INTO operation_durations (type, outcome, le, observations, sum_seconds)
        VALUES (NEW.type, NEW.state, bound, 1, seconds)
        ON CONFLICT (type, outcome, le) DO UPDATE
          SET observations = operation_durations.observations + 1,
              sum_seconds = operation_durations.sum_seconds + excluded.sum_seconds;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER operations_duration_record
      AFTER UPDATE OF state ON operations
      FOR EACH ROW WHEN (OLD.state IN ('pending', 'running') AND NEW.state IN ('succeeded', 'failed', 'cancelled'))
      EXECUTE FUNCTION paddock_record_operation_duration()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER operations_duration_record ON operations`);
    await q.query(`DROP FUNCTION paddock_record_operation_duration()`);
    await q.query(`DROP TABLE operation_durations`);
    await q.query(`DROP INDEX clusters_provisioning_idx`);
    await q.query(`DROP INDEX clusters_unhealthy_idx`);
    await q.query(`DROP INDEX nodes_provisioning_idx`);
    await q.query(`DROP INDEX nodes_unhealthy_idx`);
    await q.query(`ALTER TABLE clusters DROP COLUMN unhealthy_conditions`);
    await q.query(
      `ALTER TABLE nodes DROP COLUMN provisioning_since, DROP COLUMN unhealthy_conditions, DROP COLUMN conditions`,
    );
  }
}
