import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The status sync looks rows up by the Rancher ids one page of the listing names (a thousand at
 * a time) instead of reading a backend's every row at once: index those ids.
 */
export class SyncLookupIndexes1764600400000 implements MigrationInterface {
  name = 'SyncLookupIndexes1764600400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX clusters_rancher_id_idx ON clusters (rancher_id) WHERE rancher_id IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX node_pools_rancher_id_idx ON node_pools (rancher_id) WHERE rancher_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX node_pools_rancher_id_idx`);
    await q.query(`DROP INDEX clusters_rancher_id_idx`);
  }
}
