import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Kubeconfig credentials Paddock issues (`pdk_kc_…`), in a table of their own rather than beside
 * API tokens: the `/v1` guard never reads this table, so such a credential cannot authenticate
 * there whatever a later change to the guard does. Like API tokens, only the SHA-256 digest of
 * the secret is kept. Audit events get a `details` object for what a path cannot say (a ttl, the
 * id of the credential issued).
 */
export class KubeconfigCredentials1764600100000 implements MigrationInterface {
  name = 'KubeconfigCredentials1764600100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE kubeconfig_credentials (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        token_hash char(64) NOT NULL,
        prefix varchar(16) NOT NULL,
        subject varchar(128) NOT NULL,
        -- The issuer's role when it was issued; a member's credential also needs the membership.
        role varchar(8) NOT NULL,
        -- The API token it was issued with (null for the bootstrap admin token): revoking or the
        -- expiry of that token ends this credential too.
        issuer_token_id uuid REFERENCES api_tokens(id) ON DELETE CASCADE,
        cluster_id uuid NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        CONSTRAINT kubeconfig_credentials_hash_key UNIQUE (token_hash),
        CONSTRAINT kubeconfig_credentials_role_check CHECK (role IN ('admin', 'member', 'ci'))
      )`);
    await q.query(`CREATE INDEX kubeconfig_credentials_list_idx ON kubeconfig_credentials (created_at, id)`);
    await q.query(`CREATE INDEX kubeconfig_credentials_cluster_idx ON kubeconfig_credentials (cluster_id)`);
    await q.query(
      `CREATE INDEX kubeconfig_credentials_issuer_idx ON kubeconfig_credentials (issuer_token_id)`,
    );
    await q.query(`ALTER TABLE audit_events ADD COLUMN details jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_events DROP COLUMN details`);
    await q.query(`DROP TABLE kubeconfig_credentials`);
  }
}
