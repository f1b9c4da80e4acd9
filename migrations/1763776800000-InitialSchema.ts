import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Projects, backends, clusters with their pools and synced nodes, operations with their steps,
 * the outbox that hands operations to the queue, and idempotency keys.
 */
export class InitialSchema1763776800000 implements MigrationInterface {
  name = 'InitialSchema1763776800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projects (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT projects_name_key UNIQUE (name)
      )`);

    await q.query(`
      CREATE TABLE backends (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(63) NOT NULL,
        url varchar(2048) NOT NULL,
        kind varchar(16) NOT NULL,
        token_ciphertext text NOT NULL,
        region varchar(63),
        labels jsonb NOT NULL DEFAULT '{}',
        max_clusters integer NOT NULL,
        max_nodes integer NOT NULL,
        -- Clusters and nodes placed here, reservations included; kept in step with the cluster
        -- tables in the same transactions, so placement never has to count rows.
        clusters_count integer NOT NULL DEFAULT 0,
        nodes_count integer NOT NULL DEFAULT 0,
        state varchar(16) NOT NULL DEFAULT 'active',
        flavors jsonb NOT NULL DEFAULT '{}',
        rancher_version varchar(64),
        last_sync_at timestamptz,
        last_sync_error text,
        sync_report jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CONSTRAINT backends_kind_check CHECK (kind IN ('rke1')),
        CONSTRAINT backends_usage_check CHECK (clusters_count >= 0 AND nodes_count >= 0),
        CONSTRAINT backends_state_check CHECK (state IN ('active', 'draining', 'disabled'))
      )`);

    // A removed backend is kept (soft-deleted) so that old cluster rows still say where they lived.
    await q.query(`CREATE UNIQUE INDEX backends_live_name_idx ON backends (name) WHERE deleted_at IS NULL`);

    await q.query(`
      CREATE TABLE clusters (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id),
        backend_id uuid NOT NULL REFERENCES backends(id),
        name varchar(63) NOT NULL,
        rancher_name varchar(63) NOT NULL,
        rancher_id varchar(128),
        kubernetes_version varchar(64),
        region varchar(63),
        labels jsonb NOT NULL DEFAULT '{}',
        state varchar(16) NOT NULL,
        remote_state varchar(32),
        remote_transitioning varchar(8),
        remote_message text,
        conditions jsonb NOT NULL DEFAULT '[]',
        node_count integer NOT NULL DEFAULT 0,
        status_updated_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CONSTRAINT clusters_rancher_name_key UNIQUE (rancher_name),
        CONSTRAINT clusters_state_check CHECK (state IN
          ('provisioning', 'active', 'updating', 'error', 'deleting', 'deleted', 'failed'))
      )`);
    // Names are unique among the live clusters of a project; deleted and failed ones free the name.
    await q.query(`
      CREATE UNIQUE INDEX clusters_live_name_idx ON clusters (project_id, name)
        WHERE state NOT IN ('deleted', 'failed')`);
    await q.query(`CREATE INDEX clusters_project_list_idx ON clusters (project_id, name, id)`);
    await q.query(`CREATE INDEX clusters_backend_idx ON clusters (backend_id, state)`);

    await q.query(`
      CREATE TABLE node_pools (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
        name varchar(63) NOT NULL,
        roles text[] NOT NULL,
        flavor varchar(63) NOT NULL,
        node_template_id varchar(255) NOT NULL,
        quantity integer NOT NULL,
        remote_quantity integer,
        ready_nodes integer NOT NULL DEFAULT 0,
        rancher_id varchar(255),
        state varchar(16) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        CONSTRAINT node_pools_quantity_check CHECK (quantity >= 0),
        CONSTRAINT node_pools_state_check CHECK (state IN
          ('provisioning', 'active', 'scaling', 'deleting', 'deleted', 'failed'))
      )`);
    await q.query(`
      CREATE UNIQUE INDEX node_pools_live_name_idx ON node_pools (cluster_id, name)
        WHERE state NOT IN ('deleted', 'failed')`);

    await q.query(`
      CREATE TABLE nodes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
        node_pool_id uuid REFERENCES node_pools(id) ON DELETE SET NULL,
        rancher_id varchar(255) NOT NULL,
        hostname varchar(253) NOT NULL,
        state varchar(32) NOT NULL,
        transitioning varchar(8) NOT NULL,
        message text NOT NULL DEFAULT '',
        roles text[] NOT NULL,
        ip_address varchar(64),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT nodes_rancher_id_key UNIQUE (rancher_id)
      )`);
    await q.query(`CREATE INDEX nodes_cluster_idx ON nodes (cluster_id, hostname)`);

    await q.query(`
      CREATE TABLE operations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        project_id uuid NOT NULL REFERENCES projects(id),
        cluster_id uuid NOT NULL REFERENCES clusters(id),
        node_pool_id uuid REFERENCES node_pools(id),
        type varchar(32) NOT NULL,
        state varchar(16) NOT NULL DEFAULT 'pending',
        phase varchar(16) NOT NULL DEFAULT 'forward',
        params jsonb NOT NULL DEFAULT '{}',
        error_code varchar(64),
        error_message text,
        deadline_at timestamptz NOT NULL,
        lease_owner varchar(64),
        lease_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        CONSTRAINT operations_state_check CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
        CONSTRAINT operations_phase_check CHECK (phase IN ('forward', 'compensating'))
      )`);
    // At most one mutating operation per cluster: enforced here, so it holds across API replicas.
    await q.query(`
      CREATE UNIQUE INDEX operations_one_in_flight_idx ON operations (cluster_id)
        WHERE state IN ('pending', 'running')`);
    await q.query(`
      CREATE INDEX operations_unfinished_idx ON operations (updated_at)
        WHERE state IN ('pending', 'running')`);

    await q.query(`
      CREATE TABLE operation_steps (
        operation_id uuid NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
        position integer NOT NULL,
        name varchar(96) NOT NULL,
        node_pool_id uuid,
        state varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        started_at timestamptz,
        finished_at timestamptz,
        last_error text,
        last_error_code varchar(64),
        PRIMARY KEY (operation_id, position),
        CONSTRAINT operation_steps_state_check CHECK (state IN ('pending', 'running', 'succeeded', 'failed'))
      )`);

    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        operation_id uuid NOT NULL REFERENCES operations(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_pending_idx ON outbox (id) WHERE dispatched_at IS NULL`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        credential_id varchar(128) NOT NULL,
        key varchar(255) NOT NULL,
        method varchar(8) NOT NULL,
        path varchar(2048) NOT NULL,
        request_hash char(64) NOT NULL,
        status_code integer NOT NULL,
        response_body jsonb,
        location varchar(2048),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        PRIMARY KEY (credential_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'idempotency_keys',
      'outbox',
      'operation_steps',
      'operations',
      'nodes',
      'node_pools',
      'clusters',
      'backends',
      'projects',
    ]) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
