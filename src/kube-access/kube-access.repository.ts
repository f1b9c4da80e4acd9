import { Injectable } from '@nestjs/common';
import type { Role } from '../common/auth.guard';
import type { ClusterState } from '../clusters/cluster.types';
import { UnitOfWork } from '../database/unit-of-work';

/** A cluster as the Kubernetes API proxy needs it: who owns it and where its backend is. */
export interface ClusterTarget {
  clusterId: string;
  clusterName: string;
  projectId: string;
  projectName: string;
  state: ClusterState;
  /** Null until the create step has made the cluster on the backend. */
  rancherId: string | null;
  backendUrl: string;
  backendTokenCiphertext: string;
}

/** An API token, with whether it may see the cluster named in the path (when that exists). */
export interface ApiTokenGrant {
  tokenId: string;
  subject: string;
  role: Role;
  /** The project a `ci` (or narrowed `member`) token is bound to. */
  tokenProjectId: string | null;
  tokenProjectName: string | null;
  expired: boolean;
  revoked: boolean;
  /** For a member token: its subject is a member of the target cluster's project. */
  memberOfClusterProject: boolean;
  target: ClusterTarget | null;
}

/** A kubeconfig credential with everything that decides, right now, whether it still works. */
export interface KubeconfigGrant {
  credentialId: string;
  subject: string;
  role: Role;
  expired: boolean;
  revoked: boolean;
  /** The API token it was issued with is still valid (true when issued with the bootstrap token). */
  issuerValid: boolean;
  /** A member's credential: the subject is still a member of the cluster's project. */
  subjectAllowed: boolean;
  target: ClusterTarget;
}

export interface NewKubeconfigCredential {
  hash: string;
  prefix: string;
  subject: string;
  role: Role;
  issuerTokenId: string | null;
  clusterId: string;
  ttlSeconds: number;
}

/** A live (not deleted, not failed) cluster found by its project's and its own name. */
export interface NamedCluster {
  projectExists: boolean;
  cluster: { id: string; name: string; state: ClusterState; rancherId: string | null } | null;
}

interface TargetRow {
  cluster_id: string;
  cluster_name: string;
  project_id: string;
  project_name: string;
  state: ClusterState;
  rancher_id: string | null;
  backend_url: string;
  backend_token_ciphertext: string;
}

interface ApiTokenRow extends Partial<TargetRow> {
  id: string;
  subject: string;
  role: Role;
  token_project_id: string | null;
  token_project_name: string | null;
  expired: boolean;
  revoked: boolean;
  member_of_cluster_project: boolean;
}

interface KubeconfigRow extends TargetRow {
  id: string;
  subject: string;
  role: Role;
  expired: boolean;
  revoked: boolean;
  issuer_valid: boolean;
  subject_allowed: boolean;
}

/** The columns of `TargetRow`, for a query that joins `c` (clusters), `p` (projects), `b` (backends). */
const TARGET_COLUMNS = `c.id AS cluster_id, c.name AS cluster_name, c.project_id, p.name AS project_name,
  c.state, c.rancher_id, b.url AS backend_url, b.token_ciphertext AS backend_token_ciphertext`;

const toTarget = (r: Partial<TargetRow>): ClusterTarget | null =>
  r.cluster_id
    ? {
        clusterId: r.cluster_id,
        clusterName: r.cluster_name!,
        projectId: r.project_id!,
        projectName: r.project_name!,
        state: r.state!,
        rancherId: r.rancher_id ?? null,
        backendUrl: r.backend_url!,
        backendTokenCiphertext: r.backend_token_ciphertext!,
      }
    : null;

/**
 * Kubeconfig credentials, and the look-ups of the Kubernetes API proxy. Each look-up is one
 * query on a unique index (the credential's digest, the cluster's primary key), made for every
 * request with no cache, so a revocation, an expiry, a removed member or a deleted cluster takes
 * effect on the next request on every replica.
 */
@Injectable()
export class KubeAccessRepository {
  constructor(private readonly uow: UnitOfWork) {}

  async findCluster(projectName: string, clusterName: string): Promise<NamedCluster> {
    const rows: Array<{ id: string | null; name: string; state: ClusterState; rancher_id: string | null }> =
      await this.uow.manager.query(
        `SELECT c.id, c.name, c.state, c.rancher_id
         FROM projects p
         LEFT JOIN clusters c ON c.project_id = p.id AND c.name = $2 AND c.state NOT IN ('deleted', 'failed')
         WHERE p.name = $1`,
        [projectName, clusterName],
      );
    if (rows.length === 0) return { projectExists: false, cluster: null };
    const r = rows[0];
    return {
      projectExists: true,
      cluster: r.id ? { id: r.id, name: r.name, state: r.state, rancherId: r.rancher_id } : null,
    };
  }

  /** Stores the credential's digest; the expiry is computed by the database clock, as checks are. */
  async insertCredential(c: NewKubeconfigCredential): Promise<{ id: string; expiresAt: Date }> {
    const rows: Array<{ id: string; expires_at: Date }> = await this.uow.manager.query(
      `INSERT INTO kubeconfig_credentials (token_hash, prefix, subject, role, issuer_token_id, cluster_id, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
       RETURNING id, expires_at`,
      [c.hash, c.prefix, c.subject, c.role, c.issuerTokenId, c.clusterId, c.ttlSeconds],
    );
    return { id: rows[0].id, expiresAt: rows[0].expires_at };
  }

  /** The cluster behind `/k8s/clusters/{clusterId}` (deleted ones included: the caller decides). */
  async findTarget(clusterId: string): Promise<ClusterTarget | null> {
    const rows: TargetRow[] = await this.uow.manager.query(
      `SELECT ${TARGET_COLUMNS}
       FROM clusters c JOIN projects p ON p.id = c.project_id JOIN backends b ON b.id = c.backend_id
       WHERE c.id = $1`,
      [clusterId],
    );
    return rows.length > 0 ? toTarget(rows[0]) : null;
  }

  /** An API token by its digest, with the cluster of the path and the token's standing towards it. */
  async findApiTokenGrant(hash: string, clusterId: string): Promise<ApiTokenGrant | null> {
    const rows: ApiTokenRow[] = await this.uow.manager.query(
      `SELECT t.id, t.subject, t.role, t.project_id AS token_project_id, tp.name AS token_project_name,
         (t.expires_at IS NOT NULL AND t.expires_at <= now()) AS expired,
         (t.revoked_at IS NOT NULL) AS revoked,
         (t.role = 'member' AND c.id IS NOT NULL AND EXISTS (
           SELECT 1 FROM project_members m WHERE m.project_id = c.project_id AND m.subject = t.subject
         )) AS member_of_cluster_project,
         ${TARGET_COLUMNS}
       FROM api_tokens t
       LEFT JOIN projects tp ON tp.id = t.project_id
       LEFT JOIN clusters c ON c.id = $2
       LEFT JOIN projects p ON p.id = c.project_id
       LEFT JOIN backends b ON b.id = c.backend_id
       WHERE t.token_hash = $1`,
      [hash, clusterId],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      tokenId: r.id,
      subject: r.subject,
      role: r.role,
      tokenProjectId: r.token_project_id,
      tokenProjectName: r.token_project_name,
      expired: r.expired,
      revoked: r.revoked,
      memberOfClusterProject: r.member_of_cluster_project,
      target: toTarget(r),
    };
  }

  /** A kubeconfig credential by its digest, with its own cluster and whether it still stands. */
  async findKubeconfigGrant(hash: string): Promise<KubeconfigGrant | null> {
    const rows: KubeconfigRow[] = await this.uow.manager.query(
      `SELECT k.id, k.subject, k.role,
         (k.expires_at <= now()) AS expired,
         (k.revoked_at IS NOT NULL) AS revoked,
         (k.issuer_token_id IS NULL OR (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())))
           AS issuer_valid,
         (k.role <> 'member' OR EXISTS (
           SELECT 1 FROM project_members m WHERE m.project_id = c.project_id AND m.subject = k.subject
         )) AS subject_allowed,
         ${TARGET_COLUMNS}
       FROM kubeconfig_credentials k
       JOIN clusters c ON c.id = k.cluster_id
       JOIN projects p ON p.id = c.project_id
       JOIN backends b ON b.id = c.backend_id
       LEFT JOIN api_tokens t ON t.id = k.issuer_token_id
       WHERE k.token_hash = $1`,
      [hash],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      credentialId: r.id,
      subject: r.subject,
      role: r.role,
      expired: r.expired,
      revoked: r.revoked,
      issuerValid: r.issuer_valid,
      subjectAllowed: r.subject_allowed,
      target: toTarget(r)!,
    };
  }
}
