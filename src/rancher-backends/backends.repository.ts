import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import type { BackendKind } from './backend-driver';
import type { Backend, BackendHealth, BackendPatch, BackendState, Flavor, NewBackend } from './backend.types';

/** Namespace of the advisory locks that mark a backend as being claimed by a create. */
const CLAIM_LOCK_SPACE = 7_326_002;

/** Consecutive failed probes that take a backend out of placement. */
export const UNHEALTHY_AFTER_FAILURES = 2;

/** A `backends` row as selected (`SELECT *`); mapped to `Backend` in one place, `toBackend`. */
interface BackendRow {
  id: string;
  name: string;
  url: string;
  kind: BackendKind;
  token_ciphertext: string;
  region: string | null;
  labels: Record<string, string>;
  max_clusters: number;
  max_nodes: number;
  state: BackendState;
  flavors: Record<string, Flavor>;
  cloud_credential: string | null;
  rancher_version: string | null;
  kubernetes_versions: string[];
  last_sync_at: Date | null;
  last_sync_error: string | null;
  sync_report: Record<string, unknown>;
  health: BackendHealth;
  probe_failures: number;
  health_checked_at: Date | null;
  last_healthy_at: Date | null;
  last_probe_error: string | null;
  clusters_count: number;
  nodes_count: number;
  deleted_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const toBackend = (r: BackendRow): Backend => ({
  id: r.id,
  name: r.name,
  url: r.url,
  kind: r.kind,
  tokenCiphertext: r.token_ciphertext,
  region: r.region,
  labels: r.labels,
  maxClusters: r.max_clusters,
  maxNodes: r.max_nodes,
  clusters: r.clusters_count,
  nodes: r.nodes_count,
  state: r.state,
  flavors: r.flavors,
  cloudCredential: r.cloud_credential ?? null,
  rancherVersion: r.rancher_version,
  kubernetesVersions: r.kubernetes_versions ?? [],
  lastSyncAt: r.last_sync_at,
  lastSyncError: r.last_sync_error,
  syncReport: r.sync_report,
  health: r.health,
  probeFailures: r.probe_failures,
  healthCheckedAt: r.health_checked_at,
  lastHealthyAt: r.last_healthy_at,
  lastProbeError: r.last_probe_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

@Injectable()
export class BackendsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Inserts the backend, or returns null when the name is taken. */
  async insert(b: NewBackend): Promise<Backend | null> {
    const rows: BackendRow[] = await this.uow.manager.query(
      `INSERT INTO backends (name, url, kind, token_ciphertext, region, labels, max_clusters, max_nodes, state, flavors,
         rancher_version, cloud_credential, kubernetes_versions, health, health_checked_at, last_healthy_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'healthy', now(), now())
       ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING RETURNING *`,
      [
        b.name,
        b.url,
        b.kind,
        b.tokenCiphertext,
        b.region,
        JSON.stringify(b.labels),
        b.maxClusters,
        b.maxNodes,
        b.state,
        JSON.stringify(b.flavors),
        b.rancherVersion,
        b.cloudCredential,
        JSON.stringify(b.kubernetesVersions),
      ],
    );
    return rows.length > 0 ? toBackend(rows[0]) : null;
  }

  async findByName(name: string): Promise<Backend | null> {
    const rows: BackendRow[] = await this.uow.manager.query(
      `SELECT * FROM backends WHERE name = $1 AND deleted_at IS NULL`,
      [name],
    );
    return rows.length > 0 ? toBackend(rows[0]) : null;
  }

  /**
   * Every flavor some registered backend offers, whatever its state (a create on a flavor only
   * draining backends offer is a 503, not a 400). Read on each create: only the flavor names.
   */
  async offeredFlavors(): Promise<Set<string>> {
    const rows: Array<{ flavor: string }> = await this.uow.manager.query(
      `SELECT DISTINCT jsonb_object_keys(flavors) AS flavor FROM backends WHERE deleted_at IS NULL`,
    );
    return new Set(rows.map((r) => r.flavor));
  }

  /** Every region some registered backend is in, whatever its state (as for flavors). */
  async offeredRegions(): Promise<Set<string>> {
    const rows: Array<{ region: string }> = await this.uow.manager.query(
      `SELECT DISTINCT region FROM backends WHERE deleted_at IS NULL AND region IS NOT NULL`,
    );
    return new Set(rows.map((r) => r.region));
  }

  async findById(id: string): Promise<Backend | null> {
    const rows: BackendRow[] = await this.uow.manager.query(`SELECT * FROM backends WHERE id = $1`, [id]);
    return rows.length > 0 ? toBackend(rows[0]) : null;
  }

  /**
   * The template reference behind a flavor on one backend, for adding a pool to a placed cluster:
   * the node template's id, or (rke2, no node template) the flavor's own name (`templateRefOf`).
   */
  async nodeTemplateOf(id: string, flavor: string): Promise<string | null> {
    const rows: Array<{ template: string | null }> = await this.uow.manager.query(
      `SELECT COALESCE(flavors -> $2 ->> 'nodeTemplateId', CASE WHEN flavors ? $2 THEN $2 END) AS template
         FROM backends WHERE id = $1`,
      [id, flavor],
    );
    return rows[0]?.template ?? null;
  }

  /** Every registered backend, by name. */
  async listAll(): Promise<Backend[]> {
    const rows: BackendRow[] = await this.uow.manager.query(
      `SELECT * FROM backends WHERE deleted_at IS NULL ORDER BY name`,
    );
    return rows.map(toBackend);
  }

  async list(limit: number, afterName: string | null): Promise<Backend[]> {
    const rows: BackendRow[] = await this.uow.manager.query(
      `SELECT * FROM backends WHERE deleted_at IS NULL AND ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2`,
      [afterName, limit + 1],
    );
    return rows.map(toBackend);
  }

  async update(id: string, patch: BackendPatch): Promise<void> {
    const columns: Record<string, unknown> = {
      url: patch.url,
      token_ciphertext: patch.tokenCiphertext,
      region: patch.region,
      labels: patch.labels === undefined ? undefined : JSON.stringify(patch.labels),
      max_clusters: patch.maxClusters,
      max_nodes: patch.maxNodes,
      state: patch.state,
      flavors: patch.flavors === undefined ? undefined : JSON.stringify(patch.flavors),
      cloud_credential: patch.cloudCredential,
      rancher_version: patch.rancherVersion,
      kubernetes_versions:
        patch.kubernetesVersions === undefined ? undefined : JSON.stringify(patch.kubernetesVersions),
    };
    const entries = Object.entries(columns).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const sets = entries.map(([column], i) => `${column} = $${i + 2}`).join(', ');
    await this.uow.manager.query(`UPDATE backends SET ${sets}, updated_at = now() WHERE id = $1`, [
      id,
      ...entries.map(([, value]) => value),
    ]);
  }

  /**
   * Removes the backend from the registry unless a live cluster is placed on it. The row is kept
   * (soft delete) so historical clusters still name their backend; the name becomes free again.
   */
  async deleteIfUnused(id: string): Promise<'deleted' | 'in-use'> {
    // TypeORM answers an UPDATE with `[rows, rowCount]`, not the rows.
    const [rows]: [Array<{ id: string }>, number] = await this.uow.manager.query(
      `UPDATE backends SET deleted_at = now(), state = 'disabled', updated_at = now()
       WHERE id = $1 AND deleted_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM clusters c WHERE c.backend_id = $1 AND c.state NOT IN ('deleted', 'failed'))
       RETURNING id`,
      [id],
    );
    return rows.length > 0 ? 'deleted' : 'in-use';
  }

  /**
   * Counts clusters and nodes against the backend when it has room for them; returns false when
   * it has not. A conditional update: two transactions cannot both take the last slot. Runs in
   * the caller's transaction, next to the state change it accounts for.
   */
  async reserve(id: string, clusters: number, nodes: number): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE backends SET clusters_count = clusters_count + $2, nodes_count = nodes_count + $3
       WHERE id = $1 AND clusters_count + $2 <= max_clusters AND nodes_count + $3 <= max_nodes
       RETURNING id`,
      [id, clusters, nodes],
    );
    return rows.length > 0;
  }

  /**
   * Marks the backend as being claimed by this transaction (until it ends), unless another
   * transaction is claiming it right now. An advisory lock rather than the row's own lock: probes
   * and the sync also update backend rows, and they must not make a backend look busy.
   */
  async tryMarkClaiming(id: string): Promise<boolean> {
    const rows: Array<{ locked: boolean }> = await this.uow.manager.query(
      `SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked`,
      [CLAIM_LOCK_SPACE, id],
    );
    return rows[0].locked;
  }

  /** Gives back what `reserve` took, in the transaction of the change that frees it. */
  async release(id: string, clusters: number, nodes: number): Promise<void> {
    await this.uow.manager.query(
      `UPDATE backends SET clusters_count = clusters_count - $2, nodes_count = nodes_count - $3 WHERE id = $1`,
      [id, clusters, nodes],
    );
  }

  /** Every backend's sealed token, deleted ones included (their values must be readable too). */
  async listSealedTokens(): Promise<Array<{ id: string; tokenCiphertext: string }>> {
    const rows: Array<{ id: string; token_ciphertext: string }> = await this.uow.manager.query(
      `SELECT id, token_ciphertext FROM backends`,
    );
    return rows.map((r) => ({ id: r.id, tokenCiphertext: r.token_ciphertext }));
  }

  /**
   * Swaps a sealed token for the same token sealed under another key, unless it changed meanwhile.
   * `updated_at` is left alone: the token itself did not change, so drivers need no rebuild.
   */
  async replaceSealedToken(id: string, previous: string, next: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE backends SET token_ciphertext = $3 WHERE id = $1 AND token_ciphertext = $2 RETURNING id`,
      [id, previous, next],
    );
    return rows.length > 0;
  }

  /**
   * A probe answered: the backend is healthy again at once. A changed list of Kubernetes versions
   * bumps `updated_at`, so drivers (which resolve versions from it) are rebuilt.
   */
  async recordProbeSuccess(id: string, version: string, kubernetesVersions: string[]): Promise<void> {
    await this.uow.manager.query(
      `UPDATE backends SET health = 'healthy', probe_failures = 0, health_checked_at = now(), last_healthy_at = now(),
         last_probe_error = NULL, rancher_version = $2, kubernetes_versions = $3::jsonb,
         updated_at = CASE WHEN kubernetes_versions = $3::jsonb THEN updated_at ELSE now() END
       WHERE id = $1`,
      [id, version, JSON.stringify(kubernetesVersions)],
    );
  }

  /** A probe failed: after UNHEALTHY_AFTER_FAILURES in a row the backend leaves placement. */
  async recordProbeFailure(id: string, error: string): Promise<BackendHealth | null> {
    const [rows]: [Array<{ health: BackendHealth }>, number] = await this.uow.manager.query(
      `UPDATE backends SET probe_failures = probe_failures + 1, health_checked_at = now(), last_probe_error = $2,
         health = CASE WHEN probe_failures + 1 >= $3 THEN 'unhealthy' ELSE health END
       WHERE id = $1 RETURNING health`,
      [id, error, UNHEALTHY_AFTER_FAILURES],
    );
    return rows[0]?.health ?? null;
  }

  async recordSync(
    id: string,
    outcome: { ok: true; report: Record<string, unknown> } | { ok: false; error: string },
  ): Promise<void> {
    if (outcome.ok) {
      await this.uow.manager.query(
        `UPDATE backends SET last_sync_at = now(), last_sync_error = NULL, sync_report = $2 WHERE id = $1`,
        [id, JSON.stringify(outcome.report)],
      );
    } else {
      await this.uow.manager.query(`UPDATE backends SET last_sync_error = $2 WHERE id = $1`, [
        id,
        outcome.error,
      ]);
    }
  }
}
