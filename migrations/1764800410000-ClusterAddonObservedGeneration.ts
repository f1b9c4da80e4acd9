import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `cluster_addons.observed_generation`: the addon generation the backend's Fleet object carried
 * when the status sync read the cluster's state. An opt-in waits for a state read at the
 * generation its own write made, not one read before the object held the cluster's values.
 */
export class ClusterAddonObservedGeneration1764800410000 implements MigrationInterface {
  name = 'ClusterAddonObservedGeneration1764800410000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cluster_addons ADD COLUMN observed_generation integer NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cluster_addons DROP COLUMN observed_generation`);
  }
}
