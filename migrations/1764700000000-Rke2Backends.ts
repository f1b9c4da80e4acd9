import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Backends of kind `rke2` (provisioning v2): the cloud credential their clusters are made with and
 * the Kubernetes versions their last probe found (both kinds), and per cluster the management
 * cluster id the Kubernetes proxy goes through (rke2's `c-m-…` twin differs from the cluster's own id).
 */
export class Rke2Backends1764700000000 implements MigrationInterface {
  name = 'Rke2Backends1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE backends
        DROP CONSTRAINT backends_kind_check,
        ADD CONSTRAINT backends_kind_check CHECK (kind IN ('rke1', 'rke2')),
        ADD COLUMN cloud_credential varchar(255),
        ADD COLUMN kubernetes_versions jsonb NOT NULL DEFAULT '[]'::jsonb`);
    await q.query(`ALTER TABLE clusters ADD COLUMN management_id varchar(128)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clusters DROP COLUMN management_id`);
    await q.query(`
      ALTER TABLE backends
        DROP COLUMN kubernetes_versions,
        DROP COLUMN cloud_credential,
        DROP CONSTRAINT backends_kind_check,
        ADD CONSTRAINT backends_kind_check CHECK (kind IN ('rke1'))`);
  }
}
