import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A pool's auto-replace setting: how many seconds a node may stay unhealthy before the backend
 * replaces it (rke1 `deleteNotReadyAfterSecs`, rke2 `unhealthyNodeTimeout`); null: never. The
 * upper bound is RKE1's own (31,540,000 s, about a year; rancher-212.md §3.4).
 */
export class NodePoolAutoReplace1764800200000 implements MigrationInterface {
  name = 'NodePoolAutoReplace1764800200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE node_pools ADD COLUMN auto_replace_seconds integer,
        ADD CONSTRAINT node_pools_auto_replace_check CHECK (auto_replace_seconds BETWEEN 1 AND 31540000)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE node_pools DROP COLUMN auto_replace_seconds`);
  }
}
