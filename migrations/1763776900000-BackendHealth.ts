import { MigrationInterface, QueryRunner } from 'typeorm';

/** Backend health from periodic probes: placement skips a backend that failed two probes in a row. */
export class BackendHealth1763776900000 implements MigrationInterface {
  name = 'BackendHealth1763776900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE backends
        ADD COLUMN health varchar(16) NOT NULL DEFAULT 'unknown',
        ADD COLUMN probe_failures integer NOT NULL DEFAULT 0,
        ADD COLUMN health_checked_at timestamptz,
        ADD COLUMN last_healthy_at timestamptz,
        ADD COLUMN last_probe_error text,
        ADD CONSTRAINT backends_health_check CHECK (health IN ('unknown', 'healthy', 'unhealthy'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE backends DROP CONSTRAINT backends_health_check,
        DROP COLUMN health, DROP COLUMN probe_failures, DROP COLUMN health_checked_at,
        DROP COLUMN last_healthy_at, DROP COLUMN last_probe_error`);
  }
}
