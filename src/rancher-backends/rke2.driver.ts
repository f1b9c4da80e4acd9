/**
 * `Rke2Driver`: the `BackendDriver` for provisioning v2 (RKE2/K3s), speaking steve `/v1` — the
 * only way to make clusters on Rancher 2.12 and later, and available from 2.6 on.
 *
 * How Paddock's model maps onto it (rancher-api.md §9, §11.6):
 * - a flavor is a machine-config template; each pool gets its own machine config
 *   (`rke-machine-config.cattle.io.<driver>configs`, `generateName` `nc-<cluster>-<pool>-`,
 *   labelled with Paddock's pool and cluster ids, looked up by label before it is created);
 * - a cluster is one `provisioning.cattle.io.clusters` object in `fleet-default` carrying every
 *   pool inline (`spec.rkeConfig.machinePools`); a node pool has no object of its own, so its id is
 *   `<namespace>/<cluster>/<pool>` and adding, scaling or removing one is one update of the
 *   cluster object: read, change, `PUT` with the `resourceVersion` read, re-read and redo on 409;
 *   a change already present is not sent again, so an update whose answer was lost is harmless;
 * - nodes are CAPI `cluster.x-k8s.io.machines`; the Kubernetes proxy goes through the management
 *   twin `status.clusterName` (`c-m-xxxxxxxx`), reported as `RemoteCluster.managementId`.
 * Build instances through `createBackendDriver` (backend-driver.factory.ts).
 */

import type {
  BackendDriver,
  BackendDriverSettings,
  BackendProbe,
  ClusterBackupSpec,
  ClusterCreateSpec,
  NodePoolCreateSpec,
  NodeTemplateRef,
  CloudCredentialRef,
  PlannedCall,
  RemoteBackup,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
  RemoteRegistrationToken,
  RestoreProgress,
} from './backend-driver';
import { PADDOCK_LABELS } from './backend-driver';
import { BackendError, isBackendError } from './backend.errors';
import { findCloudCredential } from './cloud-credentials';
import { backendVersionOf, defaultFirst } from './kubernetes-versions';
import { FleetAddons } from './fleet-addons';
import { RancherClient } from './rancher-client';
import { deleteRegistrationToken, ensureRegistrationToken } from './registration-tokens';
import { rke2CreatePlan } from './rke2/create-plan';
import {
  ensureBackupCredential,
  insecureS3Config,
  releaseBackupCredential,
  toEtcdConfig,
} from './rke2/etcd-s3';
import * as snapshots from './rke2/etcd-snapshots';
import { offeredReleases, versionFor } from './rke2/kubernetes-releases';
import {
  findMachineConfigTemplate,
  machinePoolOf,
  machinePoolsFor,
  prepareMachineConfig,
  releaseMachineConfigs,
  removeStrayMachineConfigs,
} from './rke2/machine-configs';
import { clusterPages, nodePages, nodePoolPages } from './rke2/status-pages';
import {
  ROUTES,
  clusterRef,
  deleteQuietly,
  gone,
  machineRef,
  poolRef,
  readCluster,
  steveObject,
  updateCluster,
} from './rke2/steve-requests';
import {
  CapiMachine,
  FLEET_NAMESPACE,
  ProvisioningCluster,
  isPaddockPool,
  splitPoolId,
  toDuration,
  toRemoteCluster,
  toRemoteNode,
  toRemoteNodePools,
} from './wire/v1.types';
import type { V3Setting } from './wire/v3.types';

export class Rke2Driver implements BackendDriver {
  readonly kind = 'rke2' as const;
  /** Fleet names a v2 cluster as its provisioning cluster (§4.b): `fleet-default/<name>` ↔ `<name>`. */
  readonly fleet: FleetAddons;

  constructor(
    private readonly client: RancherClient,
    private readonly settings: BackendDriverSettings = { flavors: {} },
  ) {
    this.fleet = new FleetAddons(client, (fleetName) => `${FLEET_NAMESPACE}/${fleetName}`);
  }

  // ---------------------------------------------------------------- addons (Fleet)

  fleetClusterName(clusterId: string): string {
    return clusterRef(this.client, clusterId).name;
  }

  async setClusterLabel(clusterId: string, key: string, value: string | null): Promise<void> {
    // On the provisioning cluster: Rancher copies its labels to the management cluster and from
    // there to the Fleet cluster (§4.b).
    const updated = await updateCluster(this.client, clusterId, (c) => {
      const labels = (c.metadata ??= {}).labels ?? {};
      if ((labels[key] ?? null) === value) return false;
      if (value === null) delete labels[key];
      else labels[key] = value;
      c.metadata.labels = labels;
      return true;
    });
    if (!updated)
      throw this.client.unexpected({ method: 'PUT', path: clusterId }, 'the cluster is gone', 404);
  }

  planCreate(cluster: ClusterCreateSpec, pools: NodePoolCreateSpec[]): PlannedCall[] {
    return rke2CreatePlan(this.settings.flavors, cluster, pools);
  }

  close(): void {
    this.client.close();
  }

  async probe(): Promise<BackendProbe> {
    const { version, latencyMs } = await this.client.serverVersion();
    const releases = await offeredReleases(this.client);
    if (releases.length === 0) return { version, latencyMs, kubernetesVersions: releases };
    // What a create without a version gets (rancher-212.md §1.6): listed first, as the default.
    const fallback = await this.client.request<V3Setting>({ method: 'GET', route: ROUTES.defaultVersion });
    return { version, latencyMs, kubernetesVersions: defaultFirst(releases, fallback.data?.value) };
  }

  resolveKubernetesVersion(version: string): string | null {
    return backendVersionOf('rke2', this.settings.kubernetesVersions ?? [], version);
  }

  findCloudCredential(id: string): Promise<CloudCredentialRef | null> {
    return findCloudCredential(this.client, id);
  }

  findNodeTemplate(flavor: string): Promise<NodeTemplateRef | null> {
    return findMachineConfigTemplate(this.client, this.settings.flavors, flavor);
  }

  prepareNodePool(spec: NodePoolCreateSpec): Promise<void> {
    return prepareMachineConfig(this.client, this.settings.flavors, spec);
  }

  async releaseNodePools(owner: { clusterId: string; poolId?: string }): Promise<void> {
    // The whole cluster is gone: its S3 credential goes with its machine configs.
    if (!owner.poolId) await releaseBackupCredential(this.client, owner.clusterId);
    await releaseMachineConfigs(this.client, this.settings.flavors, owner);
  }

  removeStrayNodePoolPreparations(owner: { clusterId: string; rancherId: string }): Promise<number> {
    return removeStrayMachineConfigs(this.client, this.settings.flavors, owner);
  }

  acceptsNodePools(): boolean {
    // The cluster object carries its pools: there is no window in which they are refused.
    return true;
  }

  async findClusterByName(name: string): Promise<RemoteCluster | null> {
    const cluster = await readCluster(this.client, `${FLEET_NAMESPACE}/${name}`);
    if (!cluster) return null;
    const remote = toRemoteCluster(cluster);
    return remote.removing ? null : remote;
  }

  async getCluster(id: string): Promise<RemoteCluster | null> {
    const cluster = await readCluster(this.client, id);
    return cluster ? toRemoteCluster(cluster) : null;
  }

  async createCluster(spec: ClusterCreateSpec): Promise<RemoteCluster> {
    const pools = spec.nodePools ?? [];
    const machinePools = await machinePoolsFor(
      this.client,
      this.settings.flavors,
      spec.labels[PADDOCK_LABELS.clusterId],
      pools,
    );
    const body: ProvisioningCluster & { type: string } = {
      type: 'provisioning.cattle.io.cluster',
      metadata: { name: spec.name, namespace: FLEET_NAMESPACE, labels: { ...spec.labels } },
      spec: {
        kubernetesVersion: await versionFor(
          this.client,
          this.settings.kubernetesVersions ?? [],
          spec.kubernetesVersion,
        ),
        ...(this.settings.cloudCredential
          ? { cloudCredentialSecretName: this.settings.cloudCredential }
          : {}),
        rkeConfig: {
          machinePools,
          // The bucket is Paddock's own (made before the cluster): RKE2 only checks it at snapshot time.
          ...(spec.backup
            ? {
                etcd: toEtcdConfig(
                  spec.backup,
                  await ensureBackupCredential(
                    this.client,
                    spec.labels[PADDOCK_LABELS.clusterId] ?? spec.name,
                    spec.backup,
                  ),
                ),
                ...insecureS3Config(spec.backup),
              }
            : {}),
        },
      },
    };
    const res = await this.client.request<ProvisioningCluster>({
      method: 'POST',
      route: ROUTES.clusters,
      body,
    });
    return toRemoteCluster(steveObject(this.client, res.data, 'POST', ROUTES.clusters));
  }

  async setKubernetesVersion(clusterId: string, version: string): Promise<void> {
    const wanted = this.resolveKubernetesVersion(version);
    if (!wanted) {
      throw new BackendError({
        kind: 'invalid',
        retryable: false,
        backend: this.client.backend,
        method: 'PUT',
        path: ROUTES.clusters,
        detail: `kubernetesVersion ${version} is not offered by this backend`,
      });
    }
    // One update of the cluster object (§9.1: PUT with the resourceVersion read, redone on 409);
    // a spec that already names the version is not written again. The webhook's refusal comes
    // back as 422 `Invalid` (kind `invalid`, not retryable).
    const updated = await updateCluster(this.client, clusterId, (c) => {
      if (c.spec!.kubernetesVersion === wanted) return false;
      c.spec!.kubernetesVersion = wanted;
      return true;
    });
    if (!updated) throw gone(this.client, 'PUT', clusterId);
  }

  async deleteCluster(id: string): Promise<void> {
    const ref = clusterRef(this.client, id);
    await deleteQuietly(this.client, ROUTES.cluster, ref);
  }

  async listNodePools(clusterId: string): Promise<RemoteNodePool[]> {
    const cluster = await readCluster(this.client, clusterId);
    return cluster ? toRemoteNodePools(cluster) : [];
  }

  async getNodePool(id: string): Promise<RemoteNodePool | null> {
    const ref = splitPoolId(id);
    if (!ref) return null;
    return (await this.listNodePools(ref.clusterId)).find((p) => p.id === id) ?? null;
  }

  async createNodePool(spec: NodePoolCreateSpec): Promise<RemoteNodePool> {
    const poolId = spec.labels[PADDOCK_LABELS.poolId];
    const pool = await machinePoolOf(this.client, this.settings.flavors, spec);
    const updated = await updateCluster(this.client, spec.clusterId, (c) => {
      const pools = (c.spec!.rkeConfig!.machinePools ??= []);
      if (pools.some((p) => isPaddockPool(p, poolId) || p.name === pool.name)) return false;
      pools.push(pool);
      return true;
    });
    const created =
      updated && toRemoteNodePools(updated).find((p) => p.labels[PADDOCK_LABELS.poolId] === poolId);
    if (!created) throw gone(this.client, 'PUT', spec.clusterId);
    return created;
  }

  async scaleNodePool(id: string, quantity: number): Promise<RemoteNodePool> {
    const ref = poolRef(this.client, id);
    const updated = await updateCluster(this.client, ref.clusterId, (c) => {
      const pool = (c.spec?.rkeConfig?.machinePools ?? []).find((p) => p.name === ref.pool);
      if (!pool) throw gone(this.client, 'PUT', id);
      if (pool.quantity === quantity) return false;
      pool.quantity = quantity;
      return true;
    });
    const scaled = updated && toRemoteNodePools(updated).find((p) => p.id === id);
    if (!scaled) throw gone(this.client, 'PUT', id);
    return scaled;
  }

  async deleteNodePool(id: string): Promise<void> {
    const ref = poolRef(this.client, id);
    await updateCluster(this.client, ref.clusterId, (c) => {
      const pools = c.spec?.rkeConfig?.machinePools ?? [];
      const kept = pools.filter((p) => p.name !== ref.pool);
      if (kept.length === pools.length) return false;
      c.spec!.rkeConfig!.machinePools = kept;
      return true;
    });
  }

  async setNodePoolAutoReplace(id: string, seconds: number | null): Promise<void> {
    // An update with resourceVersion, like every pool change; Rancher makes (or removes) the pool's
    // MachineHealthCheck from the field (rancher-212.md §3.2). Absent: no health check.
    const ref = poolRef(this.client, id);
    await updateCluster(this.client, ref.clusterId, (c) => {
      const pool = (c.spec?.rkeConfig?.machinePools ?? []).find((p) => p.name === ref.pool);
      if (!pool) throw gone(this.client, 'PUT', id);
      const wanted = seconds === null ? undefined : toDuration(seconds);
      if (pool.unhealthyNodeTimeout === wanted) return false;
      if (wanted === undefined) delete pool.unhealthyNodeTimeout;
      else pool.unhealthyNodeTimeout = wanted;
      return true;
    });
  }

  async deleteNode(id: string): Promise<void> {
    // Deleting the CAPI machine leaves the MachineSet's replicas as they are, so it makes a new
    // machine (with a new name) in its place (rancher-212.md §3.3). A custom machine (a registered
    // node) has no MachineSet: it is gone for good.
    await deleteQuietly(this.client, ROUTES.machine, machineRef(this.client, id));
  }

  clusterPages(): AsyncGenerator<RemoteCluster[]> {
    return clusterPages(this.client);
  }

  nodePoolPages(): AsyncGenerator<RemoteNodePool[]> {
    return nodePoolPages(this.client);
  }

  nodePages(): AsyncGenerator<RemoteNode[]> {
    return nodePages(this.client);
  }

  // ------------------------------------------------------------------ node registrations (§5, §9.3)

  /** The token lives with the management twin (`c-m-…`), which the cluster's status names. */
  async ensureRegistrationToken(clusterId: string, name: string): Promise<RemoteRegistrationToken> {
    const cluster = await readCluster(this.client, clusterId);
    const managementId = cluster?.status?.clusterName;
    if (!managementId) throw gone(this.client, 'GET', clusterId);
    return ensureRegistrationToken(this.client, managementId, name);
  }

  deleteRegistrationToken(id: string): Promise<void> {
    return deleteRegistrationToken(this.client, id);
  }

  async getNode(id: string): Promise<RemoteNode | null> {
    try {
      const res = await this.client.request<CapiMachine>({
        method: 'GET',
        route: ROUTES.machine,
        params: machineRef(this.client, id),
      });
      return toRemoteNode(steveObject(this.client, res.data, 'GET', id));
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }

  // ---------------------------------------------------------------- etcd backups (rke2/etcd-snapshots.ts)

  setBackupSchedule(clusterId: string, backup: ClusterBackupSpec): Promise<void> {
    return snapshots.setBackupSchedule(this.client, clusterId, backup);
  }

  takeBackup(clusterId: string): Promise<RemoteBackup> {
    return snapshots.takeBackup(this.client, clusterId);
  }

  getBackup(id: string): Promise<RemoteBackup | null> {
    return snapshots.getBackup(this.client, id);
  }

  backupPages(): AsyncGenerator<RemoteBackup[]> {
    return snapshots.backupPages(this.client);
  }

  restoreBackup(clusterId: string, backupId: string, restoreKubernetesVersion: boolean): Promise<void> {
    return snapshots.restoreBackup(this.client, clusterId, backupId, restoreKubernetesVersion);
  }

  restoreProgress(clusterId: string): Promise<RestoreProgress> {
    return snapshots.restoreProgress(this.client, clusterId);
  }
}
