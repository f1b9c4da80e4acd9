import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Addons: the catalog, each addon's Fleet object per backend (`addon_deliveries`), and each
 * cluster's state of each addon it has or should have (`cluster_addons`). `generation` is bumped
 * by every change the Fleet objects must carry; a delivery whose `applied_generation` is behind
 * is written by the next status sync of its backend (or at once by an opt-in's step), so a change
 * survives restarts and a lost queue: it is a fact in Postgres until a backend carries it.
 */
export class Addons1764800000000 implements MigrationInterface {
  name = 'Addons1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE addons (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL,
        chart_repo varchar(2048) NOT NULL,
        chart_name varchar(253) NOT NULL,
        chart_version varchar(128) NOT NULL,
        namespace varchar(63) NOT NULL,
        "values" jsonb NOT NULL DEFAULT '{}',
        required boolean NOT NULL,
        max_unavailable varchar(8) NOT NULL,
        max_failures integer NOT NULL,
        generation integer NOT NULL DEFAULT 1,
        paused boolean NOT NULL DEFAULT false,
        -- A resume holds the automatic pause off until the next change of the addon.
        resumed_generation integer,
        deleting boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT addons_name_key UNIQUE (name),
        CONSTRAINT addons_max_failures_check CHECK (max_failures >= 0)
      )`);
    await q.query(`
      CREATE TABLE addon_deliveries (
        addon_id uuid NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        backend_id uuid NOT NULL REFERENCES backends(id) ON DELETE CASCADE,
        kind varchar(8),
        state varchar(16) NOT NULL DEFAULT 'pending',
        message text NOT NULL DEFAULT '',
        applied_generation integer NOT NULL DEFAULT 0,
        desired_ready integer NOT NULL DEFAULT 0,
        ready integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        waiting integer NOT NULL DEFAULT 0,
        synced_at timestamptz,
        PRIMARY KEY (addon_id, backend_id),
        CONSTRAINT addon_deliveries_kind_check CHECK (kind IN ('helmop', 'bundle')),
        CONSTRAINT addon_deliveries_state_check CHECK (state IN ('pending', 'applied', 'unsupported', 'error'))
      )`);
    await q.query(`
      CREATE TABLE cluster_addons (
        cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
        addon_id uuid NOT NULL REFERENCES addons(id) ON DELETE CASCADE,
        opted_in boolean NOT NULL DEFAULT false,
        "values" jsonb,
        state varchar(16) NOT NULL DEFAULT 'pending',
        version varchar(128),
        message text NOT NULL DEFAULT '',
        synced_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_id, addon_id),
        CONSTRAINT cluster_addons_state_check CHECK (state IN
          ('pending', 'installing', 'installed', 'upgrading', 'failed', 'uninstalling'))
      )`);
    await q.query(`CREATE INDEX cluster_addons_addon_idx ON cluster_addons (addon_id, state)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cluster_addons`);
    await q.query(`DROP TABLE addon_deliveries`);
    await q.query(`DROP TABLE addons`);
  }
}
