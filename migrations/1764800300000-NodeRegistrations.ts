import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Node registrations (teams' own servers joined as workers) and what the sync learns of the nodes
 * that join with them. A registration holds `count` nodes of its project's quota while it is open:
 * `joined` of them as used (nodes that joined and are counted), the rest as reserved; `released`
 * counts slots given back by removed nodes (`node_registration_members` says which). The token's value is never stored: only the backend's
 * id of the token (`token_ref`), so revoking or expiring the registration can delete it there.
 */
export class NodeRegistrations1764800300000 implements MigrationInterface {
  name = 'NodeRegistrations1764800300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE node_registrations (
        id uuid PRIMARY KEY,
        project_id uuid NOT NULL REFERENCES projects(id),
        cluster_id uuid NOT NULL REFERENCES clusters(id),
        count integer NOT NULL,
        joined integer NOT NULL DEFAULT 0,
        released integer NOT NULL DEFAULT 0,
        labels jsonb NOT NULL DEFAULT '{}',
        taints jsonb NOT NULL DEFAULT '[]',
        token_ref varchar(255),
        expires_at timestamptz NOT NULL,
        closed_at timestamptz,
        close_reason varchar(16),
        token_removed_at timestamptz,
        created_by varchar(255),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT node_registrations_count_check CHECK (count BETWEEN 1 AND 100),
        CONSTRAINT node_registrations_slots_check CHECK (joined >= 0 AND released >= 0 AND joined + released <= count),
        CONSTRAINT node_registrations_close_check
          CHECK (close_reason IS NULL OR close_reason IN ('revoked', 'expired', 'cluster-deleted'))
      )`);
    await q.query(
      `CREATE INDEX node_registrations_cluster_idx ON node_registrations (cluster_id, created_at)`,
    );
    await q.query(
      `CREATE INDEX node_registrations_open_idx ON node_registrations (expires_at) WHERE closed_at IS NULL`,
    );
    await q.query(
      `CREATE INDEX node_registrations_token_idx ON node_registrations (closed_at)
       WHERE closed_at IS NOT NULL AND token_removed_at IS NULL`,
    );
    // One row per node a registration counted: `counted` while it holds a slot as used,
    // `released` once it went away. Kept apart from `nodes` (which the sync rewrites and drops), so
    // a node that was released is never counted again, even if a late listing still shows it.
    await q.query(`
      CREATE TABLE node_registration_members (
        rancher_id varchar(255) PRIMARY KEY,
        registration_id uuid NOT NULL REFERENCES node_registrations(id),
        state varchar(8) NOT NULL,
        changed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT node_registration_members_state_check CHECK (state IN ('counted', 'released'))
      )`);
    await q.query(
      `CREATE INDEX node_registration_members_registration_idx ON node_registration_members (registration_id)`,
    );
    await q.query(`
      ALTER TABLE nodes
        ADD COLUMN source varchar(16) NOT NULL DEFAULT 'pool',
        ADD COLUMN registration_id uuid REFERENCES node_registrations(id) ON DELETE SET NULL,
        ADD COLUMN first_seen_at timestamptz NOT NULL DEFAULT now(),
        ADD CONSTRAINT nodes_source_check CHECK (source IN ('pool', 'registered'))`);
    await q.query(
      `CREATE INDEX nodes_registration_idx ON nodes (registration_id) WHERE registration_id IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX nodes_registration_idx`);
    await q.query(
      `ALTER TABLE nodes DROP COLUMN first_seen_at, DROP COLUMN registration_id, DROP COLUMN source`,
    );
    await q.query(`DROP TABLE node_registration_members`);
    await q.query(`DROP TABLE node_registrations`);
  }
}
