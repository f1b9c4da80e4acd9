import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Access and limits: project members, API tokens (stored as SHA-256 digests only), per-project
 * quotas with their usage and reservation counters, and the audit log of mutating requests.
 */
export class ProjectsAccessQuotaAudit1763777000000 implements MigrationInterface {
  name = 'ProjectsAccessQuotaAudit1763777000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE project_members (
        project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        subject varchar(128) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project_id, subject)
      )`);
    await q.query(`CREATE INDEX project_members_subject_idx ON project_members (subject, project_id)`);

    await q.query(`
      CREATE TABLE api_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- SHA-256 of the whole secret (hex); the secret itself is never stored.
        token_hash char(64) NOT NULL,
        -- The first characters of the secret, so an owner can tell their tokens apart in a list.
        prefix varchar(16) NOT NULL,
        subject varchar(128) NOT NULL,
        role varchar(8) NOT NULL,
        project_id uuid REFERENCES projects(id) ON DELETE CASCADE,
        created_by varchar(128) NOT NULL,
        -- Millisecond precision, so a list cursor (a JavaScript date) names a row exactly.
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        expires_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_tokens_hash_key UNIQUE (token_hash),
        CONSTRAINT api_tokens_role_check CHECK (role IN ('admin', 'member', 'ci')),
        CONSTRAINT api_tokens_ci_project_check CHECK (role <> 'ci' OR project_id IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX api_tokens_list_idx ON api_tokens (created_at, id)`);

    // One row per project. used = confirmed by a finished operation; reserved = taken by an
    // operation still in flight. Every change is a conditional UPDATE of this row (style rule 6).
    await q.query(`
      CREATE TABLE project_quotas (
        project_id uuid PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
        clusters_limit integer NOT NULL,
        clusters_used integer NOT NULL DEFAULT 0,
        clusters_reserved integer NOT NULL DEFAULT 0,
        nodes_limit integer NOT NULL,
        nodes_used integer NOT NULL DEFAULT 0,
        nodes_reserved integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT project_quotas_nonnegative_check CHECK (
          clusters_limit >= 0 AND clusters_used >= 0 AND clusters_reserved >= 0 AND
          nodes_limit >= 0 AND nodes_used >= 0 AND nodes_reserved >= 0)
      )`);
    // Projects that exist before this migration get the shipped defaults (50 clusters, 1000 nodes;
    // see PADDOCK_DEFAULT_QUOTA_*) with usage counted from their clusters; the reconcile job
    // recomputes the split between used and reserved on its first pass.
    await q.query(`
      INSERT INTO project_quotas (project_id, clusters_limit, nodes_limit, clusters_used, nodes_used)
      SELECT p.id, 50, 1000,
        (SELECT count(*) FROM clusters c WHERE c.project_id = p.id AND c.state NOT IN ('deleted', 'failed')),
        (SELECT coalesce(sum(np.quantity), 0) FROM node_pools np JOIN clusters c ON c.id = np.cluster_id
          WHERE c.project_id = p.id AND c.state NOT IN ('deleted', 'failed') AND np.state NOT IN ('deleted', 'failed'))
      FROM projects p`);

    await q.query(`
      CREATE TABLE audit_events (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor varchar(128) NOT NULL,
        role varchar(8),
        credential_id varchar(128),
        project varchar(63),
        action varchar(96) NOT NULL,
        method varchar(8) NOT NULL,
        target varchar(2048) NOT NULL,
        status integer NOT NULL,
        code varchar(64),
        request_id varchar(128)
      )`);
    await q.query(`CREATE INDEX audit_events_at_idx ON audit_events (at)`);
    await q.query(`CREATE INDEX audit_events_actor_idx ON audit_events (actor, id)`);
    await q.query(`CREATE INDEX audit_events_project_idx ON audit_events (project, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_events', 'project_quotas', 'api_tokens', 'project_members']) {
      await q.query(`DROP TABLE ${table}`);
    }
  }
}
