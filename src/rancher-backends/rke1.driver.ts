/**
 * `Rke1Driver`: the `BackendDriver` for Rancher <= 2.11, speaking the norman `/v3` API (RKE1
 * node-pool clusters).
 *
 * Rules this file keeps (rancher-api.md):
 * - never trust a list filter: unknown filters are silently ignored (§2.4), so every filtered list
 *   is re-checked client-side;
 * - creates are sent once (no internal retry); a caller whose create failed ambiguously looks the
 *   object up (`findClusterByName`, `listNodePools` + labels) before trying again;
 * - deletes are idempotent: 404 (or 204) means already gone;
 * - a 403 on `GET /v3/clusters/<id>` after a delete means gone too (§1.4).
 * Build instances through `createBackendDriver` (backend-driver.factory.ts).
 */

import type {
  BackendDriver,
  BackendDriverSettings,
  BackendProbe,
  ClusterBackupSpec,
  RemoteBackup,
  RestoreProgress,
  ClusterCreateSpec,
  NodePoolCreateSpec,
  NodeTemplateRef,
  CloudCredentialRef,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
  RemoteRegistrationToken,
} from './backend-driver';
import { isBackendError } from './backend.errors';
import { findCloudCredential } from './cloud-credentials';
import { backendVersionOf, defaultFirst } from './kubernetes-versions';
import { deleteRegistrationToken, ensureRegistrationToken } from './registration-tokens';
import { FleetAddons } from './fleet-addons';
import { RancherClient, fillRoute } from './rancher-client';
import { rke1CreatePlan } from './rke1/create-plan';
import { ROUTES, deleteIdempotent, getOrNull, gone, refused, resource } from './rke1/norman-requests';
import {
  K8sEtcdBackup,
  V3Cluster,
  V3EtcdBackup,
  k8sBackupToRemote,
  toBackupConfig,
  toRemoteBackup,
  V3Node,
  V3NodePool,
  V3NodeTemplate,
  V3Setting,
  toClusterCreate,
  toNodePoolCreate,
  toNodeTemplateRef,
  isProvisioningTwin,
  toRemoteCluster,
  toRemoteNode,
  toRemoteNodePool,
} from './wire/v3.types';

/** The cluster store's 500s that are refusals of the change, not a broken server (§3.4). */
const UPGRADE_REFUSALS =
  /not enough (worker|control plane) nodes ready to upgrade|is not supported currently|is not of valid semver/;

export class Rke1Driver implements BackendDriver {
  readonly kind = 'rke1' as const;
  /** Rancher registers every `c-xxxxx` cluster in Fleet under that same name (§4.b). */
  readonly fleet: FleetAddons;

  constructor(
    private readonly client: RancherClient,
    private readonly settings: BackendDriverSettings = { flavors: {} },
  ) {
    this.fleet = new FleetAddons(client, (fleetName) => fleetName);
  }

  // ---------------------------------------------------------------- addons (Fleet)

  fleetClusterName(clusterId: string): string {
    return clusterId;
  }

  async setClusterLabel(clusterId: string, key: string, value: string | null): Promise<void> {
    // A PUT replaces the labels map wholesale (keys with `cattle.io/` survive: §2.9), so the
    // cluster is read first and its labels sent back with the one change.
    const cluster = await getOrNull<V3Cluster>(this.client, ROUTES.cluster, clusterId);
    if (!cluster) throw gone(this.client, 'PUT', fillRoute(ROUTES.cluster, { id: clusterId }));
    const labels = { ...(cluster.labels ?? {}) };
    if ((labels[key] ?? null) === value) return;
    if (value === null) delete labels[key];
    else labels[key] = value;
    await this.client.request({
      method: 'PUT',
      route: ROUTES.cluster,
      params: { id: clusterId },
      body: { name: cluster.name, labels },
      idempotent: true,
    });
  }

  readonly planCreate = rke1CreatePlan;

  /** Releases the client's keep-alive sockets. */
  close(): void {
    this.client.close();
  }

  async probe(): Promise<BackendProbe> {
    const { version, latencyMs } = await this.client.serverVersion();
    return { version, latencyMs, kubernetesVersions: await this.kubernetesVersions() };
  }

  /**
   * The RKE1 versions on offer (`k8s-versions-current`, a comma list written by the metadata
   * sync up to 2.11); an empty list when the setting is absent or empty.
   */
  private async kubernetesVersions(): Promise<string[]> {
    const setting = await getOrNull<V3Setting>(this.client, '/v3/settings/:id', 'k8s-versions-current');
    const offered = (setting?.value ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    if (offered.length === 0) return offered;
    // `k8s-version` is what a create without a version gets (§3.1): listed first, as the default.
    const fallback = await getOrNull<V3Setting>(this.client, '/v3/settings/:id', 'k8s-version');
    return defaultFirst(offered, fallback?.value);
  }

  resolveKubernetesVersion(version: string): string | null {
    // With no list (an older server or simulator), a full version is sent as written, as before.
    return backendVersionOf('rke1', this.settings.kubernetesVersions ?? [], version);
  }

  async prepareNodePool(): Promise<void> {
    // The flavor's node template exists already (it was checked at registration): nothing to make.
  }

  async releaseNodePools(): Promise<void> {
    // Node templates belong to the platform team and outlive every pool: nothing to remove.
  }

  async removeStrayNodePoolPreparations(): Promise<number> {
    // `prepareNodePool` makes nothing here, so nothing can be left over.
    return 0;
  }

  acceptsNodePools(cluster: RemoteCluster): boolean {
    // Pool creates are refused until the cluster's roles exist (§11.9).
    return cluster.conditions.some((c) => c.type === 'InitialRolesPopulated' && c.status === 'True');
  }

  findCloudCredential(id: string): Promise<CloudCredentialRef | null> {
    return findCloudCredential(this.client, id);
  }

  async findNodeTemplate(id: string): Promise<NodeTemplateRef | null> {
    const template = await getOrNull<V3NodeTemplate>(this.client, ROUTES.nodeTemplate, id);
    return template ? toNodeTemplateRef(template) : null;
  }

  async findClusterByName(name: string): Promise<RemoteCluster | null> {
    const wanted = name.toLowerCase();
    // Cluster names are DNS labels, so the lower-cased name is what the server stores; the exact
    // spelling is asked too when it differs, in case an old cluster kept capitals.
    const queries = name === wanted ? [wanted] : [wanted, name];
    const candidates = new Map<string, V3Cluster>();
    for (const q of queries) {
      for (const c of await this.client.listAll<V3Cluster>(ROUTES.clusters, { name: q }))
        candidates.set(c.id, c);
    }
    // Rancher compares display names case-insensitively and ignores clusters being removed (§3.1).
    const matches = [...candidates.values()]
      .filter((c) => !isProvisioningTwin(c))
      .map(toRemoteCluster)
      .filter((c) => c.name.toLowerCase() === wanted && !c.removing);
    return matches.find((c) => c.name === name) ?? matches[0] ?? null;
  }

  async getCluster(id: string): Promise<RemoteCluster | null> {
    const cluster = await getOrNull<V3Cluster>(this.client, ROUTES.cluster, id, { forbiddenMeansGone: true });
    return cluster ? toRemoteCluster(cluster) : null;
  }

  async createCluster(spec: ClusterCreateSpec): Promise<RemoteCluster> {
    const res = await this.client.request<V3Cluster>({
      method: 'POST',
      route: ROUTES.clusters,
      body: toClusterCreate({
        ...spec,
        kubernetesVersion: spec.kubernetesVersion
          ? (this.resolveKubernetesVersion(spec.kubernetesVersion) ?? spec.kubernetesVersion)
          : undefined,
      }),
    });
    return toRemoteCluster(resource(this.client, res.data, 'POST', ROUTES.clusters));
  }

  async deleteCluster(id: string): Promise<void> {
    await deleteIdempotent(this.client, ROUTES.cluster, id);
  }

  async setKubernetesVersion(clusterId: string, version: string): Promise<void> {
    const path = fillRoute(ROUTES.cluster, { id: clusterId });
    const wanted = this.resolveKubernetesVersion(version);
    if (!wanted)
      throw refused(this.client, 'PUT', path, `kubernetesVersion ${version} is not offered by this backend`);
    // The store refuses a PUT without `name` (§3.4): the cluster is read first, and a cluster that
    // already asks for the version is left alone (an earlier attempt landed).
    const cluster = await getOrNull<V3Cluster>(this.client, ROUTES.cluster, clusterId);
    if (!cluster) throw gone(this.client, 'PUT', path);
    if (cluster.rancherKubernetesEngineConfig?.kubernetesVersion === wanted) return;
    try {
      // A merge PUT (§2.9) of the version alone: the rest of the RKE config (its secrets read back
      // empty) stays as the server has it.
      await this.client.request({
        method: 'PUT',
        route: ROUTES.cluster,
        params: { id: clusterId },
        body: { name: cluster.name, rancherKubernetesEngineConfig: { kubernetesVersion: wanted } },
        // Not resent by the client: Rancher's refusal is a 500 (`canUpgrade`), which must reach
        // the caller once, not be retried as if the server were broken.
        idempotent: false,
      });
    } catch (error) {
      // The cluster store answers its refusals with a 500 text error (§3.4): too many nodes not
      // ready for the upgrade strategy, or a version it does not support.
      if (isBackendError(error) && error.status === 500 && UPGRADE_REFUSALS.test(error.detail))
        throw refused(this.client, 'PUT', path, error.detail);
      throw error;
    }
  }

  async listNodePools(clusterId: string): Promise<RemoteNodePool[]> {
    const pools = await this.client.listAll<V3NodePool>(ROUTES.nodePools, { clusterId });
    return pools.map(toRemoteNodePool).filter((p) => p.clusterId === clusterId);
  }

  async getNodePool(id: string): Promise<RemoteNodePool | null> {
    const pool = await getOrNull<V3NodePool>(this.client, ROUTES.nodePool, id);
    return pool ? toRemoteNodePool(pool) : null;
  }

  async createNodePool(spec: NodePoolCreateSpec): Promise<RemoteNodePool> {
    // A 403 here is usually the permission window of a fresh cluster (§11.9): the client maps it
    // to `permission-window`, retryable, and the caller waits and tries again.
    const res = await this.client.request<V3NodePool>({
      method: 'POST',
      route: ROUTES.nodePools,
      body: toNodePoolCreate(spec),
    });
    return toRemoteNodePool(resource(this.client, res.data, 'POST', ROUTES.nodePools));
  }

  async scaleNodePool(id: string, quantity: number): Promise<RemoteNodePool> {
    // A merge PUT of one field (§2.9): sending it twice leaves the same result, so it may be retried.
    const res = await this.client.request<V3NodePool>({
      method: 'PUT',
      route: ROUTES.nodePool,
      params: { id },
      body: { quantity },
      idempotent: true,
    });
    return toRemoteNodePool(resource(this.client, res.data, 'PUT', fillRoute(ROUTES.nodePool, { id })));
  }

  async deleteNodePool(id: string): Promise<void> {
    await deleteIdempotent(this.client, ROUTES.nodePool, id);
  }

  async setNodePoolAutoReplace(id: string, seconds: number | null): Promise<void> {
    // Seconds on the wire (the controller multiplies by time.Second); 0 turns it off (rancher-212.md §3.4).
    await this.client.request<V3NodePool>({
      method: 'PUT',
      route: ROUTES.nodePool,
      params: { id },
      body: { deleteNotReadyAfterSecs: seconds ?? 0 },
      idempotent: true,
    });
  }

  async deleteNode(id: string): Promise<void> {
    // The pool's quantity is unchanged, so its controller creates a node in its place (§4.2); a
    // custom node (registered, with a `customConfig`) has no pool and is gone for good.
    await deleteIdempotent(this.client, ROUTES.node, id);
  }

  async *clusterPages(): AsyncGenerator<RemoteCluster[]> {
    // A 2.6–2.11 server lists the twins of its provisioning-v2 clusters here too; they carry the
    // labels of their `/v1` cluster (Paddock's, when an rke2 backend on the same server made it),
    // so taken for RKE1 clusters they would read as unknown clusters of this backend.
    for await (const page of this.client.pages<V3Cluster>(ROUTES.clusters))
      yield page.filter((c) => !isProvisioningTwin(c)).map(toRemoteCluster);
  }

  async *nodePoolPages(): AsyncGenerator<RemoteNodePool[]> {
    for await (const page of this.client.pages<V3NodePool>(ROUTES.nodePools))
      yield page.map(toRemoteNodePool);
  }

  async *nodePages(): AsyncGenerator<RemoteNode[]> {
    for await (const page of this.client.pages<V3Node>(ROUTES.nodes)) yield page.map(toRemoteNode);
  }

  // ------------------------------------------------------------------ etcd backups (§3.6, §6)

  async setBackupSchedule(clusterId: string, backup: ClusterBackupSpec): Promise<void> {
    // The store refuses a PUT without `name` (§3.4), so the cluster is read first. A merge PUT of
    // the backup config alone (§2.9) leaves the rest of the RKE config as it is, and sending it
    // twice leaves the same result.
    const cluster = await getOrNull<V3Cluster>(this.client, ROUTES.cluster, clusterId);
    if (!cluster) throw gone(this.client, 'PUT', fillRoute(ROUTES.cluster, { id: clusterId }));
    await this.client.request({
      method: 'PUT',
      route: ROUTES.cluster,
      params: { id: clusterId },
      body: {
        name: cluster.name,
        rancherKubernetesEngineConfig: { services: { etcd: { backupConfig: toBackupConfig(backup) } } },
      },
      idempotent: true,
    });
  }

  async takeBackup(clusterId: string): Promise<RemoteBackup> {
    // The action answers with the raw k8s EtcdBackup, not a v3 envelope (§3.6).
    const res = await this.client.request<K8sEtcdBackup>({
      method: 'POST',
      route: ROUTES.cluster,
      params: { id: clusterId },
      query: { action: 'backupEtcd' },
    });
    const backup = k8sBackupToRemote(res.data ?? {});
    if (!backup.name)
      throw this.client.unexpected(
        { method: 'POST', path: fillRoute(ROUTES.cluster, { id: clusterId }) },
        'backupEtcd answered without a backup name',
        res.status,
      );
    return backup;
  }

  async getBackup(id: string): Promise<RemoteBackup | null> {
    const backup = await getOrNull<V3EtcdBackup>(this.client, ROUTES.etcdBackup, id);
    return backup ? toRemoteBackup(backup) : null;
  }

  async *backupPages(): AsyncGenerator<RemoteBackup[]> {
    for await (const page of this.client.pages<V3EtcdBackup>(ROUTES.etcdBackups))
      yield page.map(toRemoteBackup);
  }

  async restoreBackup(clusterId: string, backupId: string, restoreKubernetesVersion: boolean): Promise<void> {
    // The action only sets `rancherKubernetesEngineConfig.restore` on the cluster: a second call
    // sets the same value, so a retry is harmless.
    await this.client.request({
      method: 'POST',
      route: ROUTES.cluster,
      params: { id: clusterId },
      query: { action: 'restoreFromEtcdBackup' },
      body: { etcdBackupId: backupId, restoreRkeConfig: restoreKubernetesVersion ? 'kubernetesVersion' : '' },
      idempotent: true,
    });
  }

  async restoreProgress(clusterId: string): Promise<RestoreProgress> {
    const cluster = await getOrNull<V3Cluster>(this.client, ROUTES.cluster, clusterId, {
      forbiddenMeansGone: true,
    });
    if (!cluster) return { phase: 'gone' };
    const remote = toRemoteCluster(cluster);
    // RKE retries a failed run with backoff; the failure shows as `transitioning: error` with
    // `Updated=False` and the run's message (§3.3 step 5), which a missing snapshot never leaves.
    const updated = remote.conditions.find((c) => c.type === 'Updated');
    if (remote.transitioning === 'error' || updated?.status === 'False')
      return { phase: 'failed', message: remote.message || updated?.message || 'the restore failed' };
    const pending = cluster.rancherKubernetesEngineConfig?.restore?.restore === true;
    return !pending && remote.state === 'active' ? { phase: 'done' } : { phase: 'running' };
  }

  // ------------------------------------------------------------------ node registrations (§4.3, §5)

  ensureRegistrationToken(clusterId: string, name: string): Promise<RemoteRegistrationToken> {
    return ensureRegistrationToken(this.client, clusterId, name);
  }

  deleteRegistrationToken(id: string): Promise<void> {
    return deleteRegistrationToken(this.client, id);
  }

  async getNode(id: string): Promise<RemoteNode | null> {
    const node = await getOrNull<V3Node>(this.client, ROUTES.node, id);
    return node ? toRemoteNode(node) : null;
  }
}
