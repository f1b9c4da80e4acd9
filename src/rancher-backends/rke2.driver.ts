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
  FlavorTemplate,
  NodePoolCreateSpec,
  NodeTemplateRef,
  CloudCredentialRef,
  PlannedCall,
  RemoteBackup,
  RemoteCluster,
  RemoteCondition,
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
import {
  CapiMachine,
  EtcdSnapshot,
  ManagementNode,
  machineIdOfNode,
  mergeConditions,
  nodeConditionsOf,
  FLEET_NAMESPACE,
  RkeControlPlane,
  SNAPSHOT_CLUSTER_LABEL,
  isS3Snapshot,
  toRemoteSnapshot,
  MachinePool,
  ProvisioningCluster,
  SteveObject,
  isPaddockPool,
  isSteveCollection,
  isSteveObject,
  splitClusterId,
  splitPoolId,
  toDuration,
  toMachinePool,
  toRemoteCluster,
  toRemoteNode,
  toRemoteNodePools,
} from './wire/v1.types';
import {
  isProvisioningTwin,
  toRemoteCluster as toRemoteTwin,
  type V3Cluster,
  type V3Resource,
  type V3Setting,
} from './wire/v3.types';

const ROUTES = {
  defaultVersion: '/v3/settings/rke2-default-version',
  rke2Releases: '/v1-rke2-release/releases',
  k3sReleases: '/v1-k3s-release/releases',
  machineConfigs: '/v1/rke-machine-config.cattle.io.:type',
  machineConfigsIn: '/v1/rke-machine-config.cattle.io.:type/:namespace',
  machineConfig: '/v1/rke-machine-config.cattle.io.:type/:namespace/:name',
  clusters: '/v1/provisioning.cattle.io.clusters',
  clustersIn: '/v1/provisioning.cattle.io.clusters/:namespace',
  cluster: '/v1/provisioning.cattle.io.clusters/:namespace/:name',
  machinesIn: '/v1/cluster.x-k8s.io.machines/:namespace',
  managementNodes: '/v1/management.cattle.io.nodes',
  machine: '/v1/cluster.x-k8s.io.machines/:namespace/:name',
  snapshotsIn: '/v1/rke.cattle.io.etcdsnapshots/:namespace',
  snapshot: '/v1/rke.cattle.io.etcdsnapshots/:namespace/:name',
  controlPlane: '/v1/rke.cattle.io.rkecontrolplanes/:namespace/:name',
  cloudCredentials: '/v3/cloudcredentials',
  cloudCredential: '/v3/cloudcredentials/:id',
  twins: '/v3/clusters',
} as const;

/** A cluster update that keeps losing to other writers gives up after this many reads. */
const UPDATE_ATTEMPTS = 5;

interface MachineConfigTemplate {
  kind: string;
  fields: Record<string, unknown>;
}

/** `OpenstackConfig` → `openstackconfigs`: the steve type segment of a machine-config kind. */
const typeOf = (kind: string) => `${kind.toLowerCase()}s`;

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
    return this.clusterRef(clusterId).name;
  }

  async setClusterLabel(clusterId: string, key: string, value: string | null): Promise<void> {
    // On the provisioning cluster: Rancher copies its labels to the management cluster and from
    // there to the Fleet cluster (§4.b).
    const updated = await this.updateCluster(clusterId, (c) => {
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
    const clusterPath = `${ROUTES.clusters}/${FLEET_NAMESPACE}/${cluster.name}`;
    const configs = (pool: NodePoolCreateSpec) =>
      `/v1/rke-machine-config.cattle.io.${typeOf(this.templateOf(pool.nodeTemplateId)?.kind ?? '<driver>config')}`;
    return [
      ...pools.flatMap((pool): PlannedCall[] => [
        {
          method: 'GET',
          path: `${configs(pool)}/${FLEET_NAMESPACE}?labelSelector=${PADDOCK_LABELS.poolId}={poolId}`,
          purpose: `look for pool ${pool.hostnamePrefix}'s machine config from an earlier attempt`,
        },
        {
          method: 'POST',
          path: configs(pool),
          purpose: `create the machine config of pool ${pool.hostnamePrefix} (${pool.nodeTemplateId})`,
        },
      ]),
      { method: 'GET', path: clusterPath, purpose: 'look for a cluster left by an earlier attempt' },
      {
        method: 'GET',
        path: `${configs(pools[0] ?? ({ nodeTemplateId: '' } as NodePoolCreateSpec))}/${FLEET_NAMESPACE}?labelSelector=${PADDOCK_LABELS.clusterId}={clusterId}`,
        purpose: 'collect the machine configs the pools refer to',
      },
      {
        method: 'POST',
        path: ROUTES.clusters,
        purpose: `create cluster ${cluster.name} with its ${pools.length} machine pool(s) inline`,
      },
      {
        method: 'GET',
        path: clusterPath,
        purpose: 'record each pool and wait until the machines are running',
        repeated: true,
      },
    ];
  }

  close(): void {
    this.client.close();
  }

  async probe(): Promise<BackendProbe> {
    const { version, latencyMs } = await this.client.serverVersion();
    const releases = await this.releases();
    if (releases.length === 0) return { version, latencyMs, kubernetesVersions: releases };
    // What a create without a version gets (rancher-212.md §1.6): listed first, as the default.
    const fallback = await this.client.request<V3Setting>({ method: 'GET', route: ROUTES.defaultVersion });
    return { version, latencyMs, kubernetesVersions: defaultFirst(releases, fallback.data?.value) };
  }

  /** The RKE2 and K3s releases the server's channel server offers (§1.6 of rancher-212.md). */
  private async releases(): Promise<string[]> {
    const versions: string[] = [];
    for (const route of [ROUTES.rke2Releases, ROUTES.k3sReleases]) {
      try {
        const res = await this.client.request<unknown>({ method: 'GET', route });
        if (!isSteveCollection(res.data)) continue;
        for (const item of res.data.data as Array<{ version?: unknown; id?: unknown }>) {
          const v = typeof item.version === 'string' ? item.version : item.id;
          if (typeof v === 'string' && v !== '') versions.push(v);
        }
      } catch (error) {
        // A server without a channel server for one distro still serves the other.
        if (!(isBackendError(error) && error.kind === 'not-found')) throw error;
      }
    }
    return versions;
  }

  resolveKubernetesVersion(version: string): string | null {
    return backendVersionOf('rke2', this.settings.kubernetesVersions ?? [], version);
  }

  findCloudCredential(id: string): Promise<CloudCredentialRef | null> {
    return findCloudCredential(this.client, id);
  }

  /** A flavor's machine-config template; `findNodeTemplate` checks that its schema answers. */
  async findNodeTemplate(flavor: string): Promise<NodeTemplateRef | null> {
    const template = this.templateOf(flavor);
    if (!template) return null;
    try {
      await this.client.request({
        method: 'GET',
        route: ROUTES.machineConfigs,
        params: { type: typeOf(template.kind) },
        query: { limit: 1 },
      });
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
    return { id: flavor, name: flavor, driver: template.kind };
  }

  async prepareNodePool(spec: NodePoolCreateSpec): Promise<void> {
    const template = this.requireTemplate(spec.nodeTemplateId);
    const poolId = spec.labels[PADDOCK_LABELS.poolId];
    if ((await this.machineConfigsOf(template.kind, PADDOCK_LABELS.poolId, poolId)).length > 0) return;
    const prefix = `nc-${spec.hostnamePrefix}`.slice(0, 57).replace(/-*$/, '-');
    await this.client.request({
      method: 'POST',
      route: ROUTES.machineConfigs,
      params: { type: typeOf(template.kind) },
      body: {
        ...template.fields,
        apiVersion: 'rke-machine-config.cattle.io/v1',
        kind: template.kind,
        metadata: { generateName: prefix, namespace: FLEET_NAMESPACE, labels: { ...spec.labels } },
      },
    });
  }

  async releaseNodePools(owner: { clusterId: string; poolId?: string }): Promise<void> {
    // The whole cluster is gone: its S3 credential goes with its machine configs.
    if (!owner.poolId) await this.releaseBackupCredential(owner.clusterId);
    for (const kind of this.templateKinds()) {
      const configs = owner.poolId
        ? await this.machineConfigsOf(kind, PADDOCK_LABELS.poolId, owner.poolId)
        : await this.machineConfigsOf(kind, PADDOCK_LABELS.clusterId, owner.clusterId);
      for (const config of configs) {
        await this.deleteQuietly(ROUTES.machineConfig, {
          type: typeOf(kind),
          namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
          name: config.metadata?.name ?? '',
        });
      }
    }
  }

  async removeStrayNodePoolPreparations(owner: { clusterId: string; rancherId: string }): Promise<number> {
    const cluster = await this.readCluster(owner.rancherId);
    if (!cluster) return 0;
    // A config is in use when a machine pool names it; machine pools name their config only.
    const inUse = new Set(
      (cluster.spec?.rkeConfig?.machinePools ?? []).map((p) => p.machineConfigRef?.name).filter(Boolean),
    );
    let removed = 0;
    for (const kind of this.templateKinds()) {
      for (const config of await this.machineConfigsOf(kind, PADDOCK_LABELS.clusterId, owner.clusterId)) {
        const name = config.metadata?.name;
        if (!name || inUse.has(name)) continue;
        await this.deleteQuietly(ROUTES.machineConfig, {
          type: typeOf(kind),
          namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
          name,
        });
        removed++;
      }
    }
    return removed;
  }

  acceptsNodePools(): boolean {
    // The cluster object carries its pools: there is no window in which they are refused.
    return true;
  }

  async findClusterByName(name: string): Promise<RemoteCluster | null> {
    const cluster = await this.readCluster(`${FLEET_NAMESPACE}/${name}`);
    if (!cluster) return null;
    const remote = toRemoteCluster(cluster);
    return remote.removing ? null : remote;
  }

  async getCluster(id: string): Promise<RemoteCluster | null> {
    const cluster = await this.readCluster(id);
    return cluster ? toRemoteCluster(cluster) : null;
  }

  async createCluster(spec: ClusterCreateSpec): Promise<RemoteCluster> {
    const pools = spec.nodePools ?? [];
    const configs = await this.machineConfigsFor(spec.labels[PADDOCK_LABELS.clusterId], pools);
    const machinePools: MachinePool[] = pools.map((pool) => {
      const config = configs.get(pool.labels[PADDOCK_LABELS.poolId]);
      if (!config) {
        throw this.client.unexpected(
          { method: 'POST', path: ROUTES.clusters },
          `pool ${pool.name ?? pool.hostnamePrefix} has no machine config yet`,
        );
      }
      return toMachinePool(pool, config);
    });
    const body: ProvisioningCluster & { type: string } = {
      type: 'provisioning.cattle.io.cluster',
      metadata: { name: spec.name, namespace: FLEET_NAMESPACE, labels: { ...spec.labels } },
      spec: {
        kubernetesVersion: await this.versionFor(spec.kubernetesVersion),
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
                  await this.ensureBackupCredential(
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
    return toRemoteCluster(this.object(res.data, 'POST', ROUTES.clusters));
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
    const updated = await this.updateCluster(clusterId, (c) => {
      if (c.spec!.kubernetesVersion === wanted) return false;
      c.spec!.kubernetesVersion = wanted;
      return true;
    });
    if (!updated) throw this.gone('PUT', clusterId);
  }

  async deleteCluster(id: string): Promise<void> {
    const ref = this.clusterRef(id);
    await this.deleteQuietly(ROUTES.cluster, ref);
  }

  async listNodePools(clusterId: string): Promise<RemoteNodePool[]> {
    const cluster = await this.readCluster(clusterId);
    return cluster ? toRemoteNodePools(cluster) : [];
  }

  async getNodePool(id: string): Promise<RemoteNodePool | null> {
    const ref = splitPoolId(id);
    if (!ref) return null;
    return (await this.listNodePools(ref.clusterId)).find((p) => p.id === id) ?? null;
  }

  async createNodePool(spec: NodePoolCreateSpec): Promise<RemoteNodePool> {
    const poolId = spec.labels[PADDOCK_LABELS.poolId];
    const template = this.requireTemplate(spec.nodeTemplateId);
    const [config] = await this.machineConfigsOf(template.kind, PADDOCK_LABELS.poolId, poolId);
    if (!config?.metadata?.name) {
      throw this.client.unexpected(
        { method: 'PUT', path: spec.clusterId },
        `pool ${spec.name ?? spec.hostnamePrefix} has no machine config yet`,
      );
    }
    const pool = toMachinePool(spec, { kind: template.kind, name: config.metadata.name });
    const updated = await this.updateCluster(spec.clusterId, (c) => {
      const pools = (c.spec!.rkeConfig!.machinePools ??= []);
      if (pools.some((p) => isPaddockPool(p, poolId) || p.name === pool.name)) return false;
      pools.push(pool);
      return true;
    });
    const created =
      updated && toRemoteNodePools(updated).find((p) => p.labels[PADDOCK_LABELS.poolId] === poolId);
    if (!created) throw this.gone('PUT', spec.clusterId);
    return created;
  }

  async scaleNodePool(id: string, quantity: number): Promise<RemoteNodePool> {
    const ref = this.poolRef(id);
    const updated = await this.updateCluster(ref.clusterId, (c) => {
      const pool = (c.spec?.rkeConfig?.machinePools ?? []).find((p) => p.name === ref.pool);
      if (!pool) throw this.gone('PUT', id);
      if (pool.quantity === quantity) return false;
      pool.quantity = quantity;
      return true;
    });
    const scaled = updated && toRemoteNodePools(updated).find((p) => p.id === id);
    if (!scaled) throw this.gone('PUT', id);
    return scaled;
  }

  async deleteNodePool(id: string): Promise<void> {
    const ref = this.poolRef(id);
    await this.updateCluster(ref.clusterId, (c) => {
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
    const ref = this.poolRef(id);
    await this.updateCluster(ref.clusterId, (c) => {
      const pool = (c.spec?.rkeConfig?.machinePools ?? []).find((p) => p.name === ref.pool);
      if (!pool) throw this.gone('PUT', id);
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
    await this.deleteQuietly(ROUTES.machine, this.machineRef(id));
  }

  /**
   * The provisioning clusters, then the management twins (`/v3/clusters`, paged). Rancher removes
   * a twin only after its provisioning cluster is gone (§9.3), so a twin being removed whose
   * cluster no page listed is the last of that cluster on the backend: it is reported as the
   * cluster, `removing`, instead of the cluster reading as gone (or, to an rke1 reader of the
   * same server, as an unknown cluster) while Rancher is still tearing it down. A twin that is not
   * being removed and whose cluster was not listed belongs to a cluster made after its page was
   * read; the next cycle sees it.
   */
  async *clusterPages(): AsyncGenerator<RemoteCluster[]> {
    const listed = new Set<string>();
    for await (const page of this.client.stevePages<ProvisioningCluster>(
      ROUTES.clustersIn,
      {},
      { namespace: FLEET_NAMESPACE },
    )) {
      const clusters = page.map(toRemoteCluster);
      for (const c of clusters) if (c.managementId) listed.add(c.managementId);
      yield clusters;
    }
    for await (const page of this.client.pages<V3Cluster>(ROUTES.twins)) {
      const lingering = page
        .filter((twin) => isProvisioningTwin(twin) && !listed.has(twin.id))
        .map(toRemoteTwin)
        .filter((twin) => twin.removing && twin.name !== '')
        .map((twin) => ({ ...twin, id: `${FLEET_NAMESPACE}/${twin.name}`, state: 'removing', nodeCount: 0 }));
      if (lingering.length > 0) yield lingering;
    }
  }

  async *nodePoolPages(): AsyncGenerator<RemoteNodePool[]> {
    for await (const page of this.client.stevePages<ProvisioningCluster>(
      ROUTES.clustersIn,
      {},
      { namespace: FLEET_NAMESPACE },
    ))
      yield page.flatMap(toRemoteNodePools);
  }

  /**
   * The CAPI machines, each with its Node's conditions. A machine carries CAPI's conditions only
   * (`NodeHealthy` sums the Node's up); the Node's own are on Rancher's management Node, which the
   * node syncer keeps for every downstream Node of every cluster (see `ManagementNode`): one paged
   * list of those across all clusters, before the machines, joined to each machine through the
   * `cluster.x-k8s.io/machine` annotation CAPI puts on the Node. What they carry is the kubelet's
   * `Ready` and Rancher's `Registered`: Rancher drops the pressure conditions (`cleanStatus`), so
   * on rke2 those reach Paddock only through the machine's `NodeHealthy`. The kubelet's `Ready`
   * takes the place of the machine's own `Ready` (CAPI's summary of the machine). A machine whose
   * Node is not listed (none yet, or made after that page was read) keeps the machine's conditions.
   */
  async *nodePages(): AsyncGenerator<RemoteNode[]> {
    const nodeConditions = await this.nodeConditionsByMachine();
    for await (const page of this.client.stevePages<CapiMachine>(
      ROUTES.machinesIn,
      {},
      { namespace: FLEET_NAMESPACE },
    ))
      yield page.map((machine) => {
        const node = toRemoteNode(machine);
        const own = nodeConditions.get(node.id);
        return own ? { ...node, conditions: mergeConditions(node.conditions, own) } : node;
      });
  }

  /** The conditions of every management Node made for a CAPI machine, by the machine's steve id. */
  private async nodeConditionsByMachine(): Promise<Map<string, RemoteCondition[]>> {
    const found = new Map<string, RemoteCondition[]>();
    try {
      for await (const page of this.client.stevePages<ManagementNode>(ROUTES.managementNodes)) {
        for (const node of page) {
          const machine = machineIdOfNode(node);
          if (machine && !node.metadata?.deletionTimestamp) found.set(machine, nodeConditionsOf(node));
        }
      }
    } catch (error) {
      // A server that does not serve the type: the machines' own conditions are all there is.
      if (!(isBackendError(error) && error.kind === 'not-found')) throw error;
    }
    return found;
  }

  // ------------------------------------------------------------------ node registrations (§5, §9.3)

  /** The token lives with the management twin (`c-m-…`), which the cluster's status names. */
  async ensureRegistrationToken(clusterId: string, name: string): Promise<RemoteRegistrationToken> {
    const cluster = await this.readCluster(clusterId);
    const managementId = cluster?.status?.clusterName;
    if (!managementId) throw this.gone('GET', clusterId);
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
        params: this.machineRef(id),
      });
      return toRemoteNode(this.object(res.data, 'GET', id));
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }

  private machineRef(id: string): { namespace: string; name: string } {
    const ref = splitClusterId(id);
    if (!ref) throw this.client.unexpected({ method: 'GET', path: id }, 'not a machine id');
    return ref;
  }

  // ------------------------------------------------------------------ helpers

  // ---------------------------------------------------------------- etcd backups (rancher-212.md §5)
  // Snapshots go to S3 through a cloud credential the driver makes once per cluster (the keys live
  // only there: never in the cluster object, a log or an answer) and `rkeConfig.etcd.s3` naming it.
  // Only the S3 copies are reported as backups: the local ones die with their node.

  async setBackupSchedule(clusterId: string, backup: ClusterBackupSpec): Promise<void> {
    const current = await this.readCluster(clusterId);
    if (!current) throw this.gone('PUT', clusterId);
    const credential = await this.ensureBackupCredential(this.paddockIdOf(current, clusterId), backup);
    const etcd = toEtcdConfig(backup, credential);
    const global = insecureS3Config(backup).machineGlobalConfig;
    const updated = await this.updateCluster(clusterId, (c) => {
      const rke = c.spec!.rkeConfig!;
      const wanted = {
        etcd: { ...(rke.etcd as object), ...etcd },
        machineGlobalConfig: { ...(rke.machineGlobalConfig as object), ...global },
      };
      if (
        JSON.stringify(rke.etcd) === JSON.stringify(wanted.etcd) &&
        (!global || JSON.stringify(rke.machineGlobalConfig) === JSON.stringify(wanted.machineGlobalConfig))
      )
        return false;
      rke.etcd = wanted.etcd;
      if (global) rke.machineGlobalConfig = wanted.machineGlobalConfig;
      return true;
    });
    if (!updated) throw this.gone('PUT', clusterId);
  }

  /**
   * Raises `etcdSnapshotCreate.generation`. The answer names no snapshot, so what is returned is a
   * marker (`activating`) that `getBackup` resolves: the first on-demand S3 snapshot of the
   * cluster newer than the newest on-demand one there was before the raise (a scheduled snapshot
   * landing in that window is not it).
   */
  async takeBackup(clusterId: string): Promise<RemoteBackup> {
    const ref = this.clusterRef(clusterId);
    const before = (await this.s3SnapshotsOf(ref.name)).map(toRemoteSnapshot).filter((b) => b.manual);
    const newest = before.reduce<string>(
      (max, b) => ((b.createdAt ?? '') > max ? (b.createdAt ?? '') : max),
      '',
    );
    const atNewest = before.filter((b) => (b.createdAt ?? '') === newest).map((b) => b.name);
    let generation = 0;
    const updated = await this.updateCluster(clusterId, (c) => {
      const rke = c.spec!.rkeConfig!;
      const create = (rke.etcdSnapshotCreate ?? {}) as { generation?: number };
      generation = (typeof create.generation === 'number' ? create.generation : 0) + 1;
      rke.etcdSnapshotCreate = { ...create, generation };
      return true;
    });
    if (!updated) throw this.gone('PUT', clusterId);
    const marker = [PENDING_SNAPSHOT, clusterId, String(generation), newest, ...atNewest].join('|');
    return pendingSnapshot(marker, clusterId, ref.name, generation);
  }

  async getBackup(id: string): Promise<RemoteBackup | null> {
    if (id.startsWith(`${PENDING_SNAPSHOT}|`)) return this.resolvePending(id);
    const ref = splitClusterId(id);
    if (!ref) return null;
    try {
      const res = await this.client.request<EtcdSnapshot>({
        method: 'GET',
        route: ROUTES.snapshot,
        params: ref,
      });
      return toRemoteSnapshot(this.object(res.data, 'GET', id));
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }

  async *backupPages(): AsyncGenerator<RemoteBackup[]> {
    for await (const page of this.client.stevePages<EtcdSnapshot>(
      ROUTES.snapshotsIn,
      {},
      { namespace: FLEET_NAMESPACE },
    ))
      yield page.filter(isS3Snapshot).map(toRemoteSnapshot);
  }

  /**
   * Sets `etcdSnapshotRestore` with the next generation. The same request (snapshot and mode) still
   * pending or under way is not sent again, so a retry restores once; once that restore finished
   * or failed, the same request is a new restore.
   */
  async restoreBackup(clusterId: string, backupId: string, restoreKubernetesVersion: boolean): Promise<void> {
    const snapshot = splitClusterId(backupId)?.name;
    if (!snapshot) throw this.client.unexpected({ method: 'PUT', path: backupId }, 'not an etcd snapshot id');
    const mode = restoreKubernetesVersion ? 'kubernetesVersion' : 'none';
    const status = (await this.readControlPlane(clusterId))?.status;
    const taken = status?.etcdSnapshotRestore?.generation ?? 0;
    const settled = ['Finished', 'Failed'].includes(status?.etcdSnapshotRestorePhase ?? '');
    const updated = await this.updateCluster(clusterId, (c) => {
      const rke = c.spec!.rkeConfig!;
      const current = (rke.etcdSnapshotRestore ?? {}) as {
        name?: string;
        generation?: number;
        restoreRKEConfig?: string;
      };
      const generation = current.generation ?? 0;
      if (current.name === snapshot && current.restoreRKEConfig === mode && (generation > taken || !settled))
        return false;
      rke.etcdSnapshotRestore = { name: snapshot, generation: generation + 1, restoreRKEConfig: mode };
      return true;
    });
    if (!updated) throw this.gone('PUT', clusterId);
  }

  async restoreProgress(clusterId: string): Promise<RestoreProgress> {
    // The control plane first: the cluster's conditions are copied from it, so a cluster read
    // after it is at least as new (read the other way round, a `Failed` phase could come with the
    // message of the phase before it).
    const status = (await this.readControlPlane(clusterId))?.status;
    const cluster = await this.readCluster(clusterId);
    if (!cluster) return { phase: 'gone' };
    const wanted = (cluster.spec?.rkeConfig?.etcdSnapshotRestore ?? {}) as { generation?: number };
    // Until the control plane records this generation, the phase it shows is an older restore's.
    if ((status?.etcdSnapshotRestore?.generation ?? 0) !== (wanted.generation ?? 0))
      return { phase: 'running' };
    const remote = toRemoteCluster(cluster);
    if (status?.etcdSnapshotRestorePhase === 'Failed') {
      const ready = remote.conditions.find((c) => c.type === 'Ready' && c.status === 'False');
      return { phase: 'failed', message: ready?.message || remote.message || 'the etcd restore failed' };
    }
    return status?.etcdSnapshotRestorePhase === 'Finished' && remote.state === 'active'
      ? { phase: 'done' }
      : { phase: 'running' };
  }

  /** The cluster's S3 credential, looked up by name before it is made; its id for `cloudCredentialName`. */
  private async ensureBackupCredential(paddockId: string, backup: ClusterBackupSpec): Promise<string> {
    const name = credentialNameOf(paddockId);
    const found = await this.findBackupCredential(name);
    if (found) return found;
    const res = await this.client.request<V3Resource>({
      method: 'POST',
      route: ROUTES.cloudCredentials,
      body: {
        type: 'cloudCredential',
        name,
        labels: { [PADDOCK_LABELS.managed]: 'true', [PADDOCK_LABELS.clusterId]: paddockId },
        s3credentialConfig: {
          accessKey: backup.target.accessKey,
          secretKey: backup.target.secretKey,
          defaultRegion: backup.target.region,
          defaultEndpoint: rke2S3Endpoint(backup.target.endpoint).host,
          defaultBucket: backup.target.bucket,
        },
      },
    });
    if (typeof res.data?.id !== 'string')
      throw this.client.unexpected(
        { method: 'POST', path: ROUTES.cloudCredentials },
        'expected a credential id',
      );
    return res.data.id;
  }

  private async findBackupCredential(name: string): Promise<string | null> {
    // Norman ignores unknown filters (rancher-api.md §2.4): the name is checked again here.
    const items = await this.client.listAll<V3Resource & { name?: string }>(ROUTES.cloudCredentials, {
      name,
    });
    return items.find((c) => c.name === name && c.id)?.id ?? null;
  }

  /** Removes the cluster's S3 credential (Rancher refuses while a cluster still names it). */
  private async releaseBackupCredential(paddockId: string): Promise<void> {
    const id = await this.findBackupCredential(credentialNameOf(paddockId));
    if (id) await this.deleteQuietly(ROUTES.cloudCredential, { id });
  }

  private paddockIdOf(cluster: ProvisioningCluster, clusterId: string): string {
    const id = cluster.metadata?.labels?.[PADDOCK_LABELS.clusterId];
    if (!id)
      throw this.client.unexpected({ method: 'GET', path: clusterId }, 'the cluster has no Paddock label');
    return id;
  }

  private async s3SnapshotsOf(cluster: string): Promise<EtcdSnapshot[]> {
    const items = await this.client.listAllSteve<EtcdSnapshot>(
      ROUTES.snapshotsIn,
      { labelSelector: `${SNAPSHOT_CLUSTER_LABEL}=${cluster}` },
      { namespace: FLEET_NAMESPACE },
    );
    return items.filter(
      (s) =>
        (s.spec?.clusterName ?? s.metadata?.labels?.[SNAPSHOT_CLUSTER_LABEL]) === cluster &&
        isS3Snapshot(s) &&
        !s.metadata?.deletionTimestamp,
    );
  }

  /** A `takeBackup` marker: the snapshot made for it once it exists, else the marker again. */
  private async resolvePending(marker: string): Promise<RemoteBackup | null> {
    const [, clusterId, generation, newest, ...atNewest] = marker.split('|');
    const ref = splitClusterId(clusterId);
    if (!ref || !(await this.readCluster(clusterId))) return null;
    const made = (await this.s3SnapshotsOf(ref.name))
      .map(toRemoteSnapshot)
      // Only an on-demand snapshot answers the bump: a scheduled one may land meanwhile.
      .filter((b) => {
        if (!b.manual) return false;
        const at = b.createdAt ?? '';
        return at > newest || (at === newest && !atNewest.includes(b.name));
      })
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
    if (made[0]) return { ...made[0], manual: true };
    return pendingSnapshot(marker, clusterId, ref.name, generation);
  }

  private async readControlPlane(clusterId: string): Promise<RkeControlPlane | null> {
    const ref = this.clusterRef(clusterId);
    try {
      const res = await this.client.request<RkeControlPlane>({
        method: 'GET',
        route: ROUTES.controlPlane,
        params: ref,
      });
      return res.data ?? null;
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }

  private templateOf(flavor: string): MachineConfigTemplate | null {
    const template: FlavorTemplate | undefined = this.settings.flavors[flavor];
    return template?.machineConfig ?? null;
  }

  private requireTemplate(flavor: string): MachineConfigTemplate {
    const template = this.templateOf(flavor);
    if (!template) {
      throw new BackendError({
        kind: 'invalid',
        retryable: false,
        backend: this.client.backend,
        method: 'POST',
        path: ROUTES.machineConfigs,
        detail: `flavor ${flavor} has no machine-config template on this backend`,
      });
    }
    return template;
  }

  private templateKinds(): string[] {
    const kinds = Object.values(this.settings.flavors).flatMap((f) =>
      f.machineConfig ? [f.machineConfig.kind] : [],
    );
    return [...new Set(kinds)];
  }

  /** The user's version in the backend's spelling, or the backend's default for new clusters. */
  private async versionFor(wanted: string | undefined): Promise<string> {
    if (wanted) {
      const resolved = this.resolveKubernetesVersion(wanted);
      if (!resolved) {
        throw new BackendError({
          kind: 'invalid',
          retryable: false,
          backend: this.client.backend,
          method: 'POST',
          path: ROUTES.clusters,
          detail: `kubernetesVersion ${wanted} is not offered by this backend`,
        });
      }
      return resolved;
    }
    const res = await this.client.request<V3Setting>({ method: 'GET', route: ROUTES.defaultVersion });
    if (typeof res.data?.value === 'string' && res.data.value !== '') return res.data.value;
    const newest = this.resolveNewest();
    if (!newest) {
      throw this.client.unexpected(
        { method: 'GET', path: ROUTES.defaultVersion },
        'the backend names no default version',
      );
    }
    return newest;
  }

  private resolveNewest(): string | null {
    const offered = (this.settings.kubernetesVersions ?? []).filter((v) => v.includes('+rke2'));
    return [...offered].sort().at(-1) ?? null;
  }

  /** Paddock's machine configs of one kind carrying `label=value`, re-checked client-side. */
  private async machineConfigsOf(
    kind: string,
    label: string,
    value: string | undefined,
  ): Promise<SteveObject[]> {
    if (!value) return [];
    const items = await this.client.listAllSteve<SteveObject>(
      ROUTES.machineConfigsIn,
      { labelSelector: `${label}=${value}` },
      { type: typeOf(kind), namespace: FLEET_NAMESPACE },
    );
    return items.filter((o) => o.metadata?.labels?.[label] === value && !o.metadata?.deletionTimestamp);
  }

  /**
   * The machine config of every pool, by Paddock's pool id: one list per machine-config kind. A
   * pool with two (a create that timed out and landed after the retry made another) uses the first
   * by name, every time, and the copy is deleted: both carry the same labels, so nothing else could
   * tell them apart.
   */
  private async machineConfigsFor(
    clusterId: string | undefined,
    pools: NodePoolCreateSpec[],
  ): Promise<Map<string | undefined, { kind: string; name: string }>> {
    const found = new Map<string | undefined, { kind: string; name: string }>();
    const kinds = new Set(pools.map((p) => this.requireTemplate(p.nodeTemplateId).kind));
    for (const kind of kinds) {
      const configs = (await this.machineConfigsOf(kind, PADDOCK_LABELS.clusterId, clusterId))
        .filter((c) => c.metadata?.name)
        .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
      for (const config of configs) {
        const poolId = config.metadata?.labels?.[PADDOCK_LABELS.poolId];
        if (!found.has(poolId)) {
          found.set(poolId, { kind, name: config.metadata!.name! });
          continue;
        }
        await this.deleteQuietly(ROUTES.machineConfig, {
          type: typeOf(kind),
          namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
          name: config.metadata!.name!,
        });
      }
    }
    return found;
  }

  /**
   * Read, change, write with the `resourceVersion` read; on 409 (someone wrote in between) read
   * again and redo the change. `change` returns false when the object already says what it should
   * (an earlier attempt landed), and nothing is written. Null when the cluster is gone.
   */
  private async updateCluster(
    id: string,
    change: (cluster: ProvisioningCluster) => boolean,
  ): Promise<ProvisioningCluster | null> {
    const ref = this.clusterRef(id);
    for (let attempt = 1; ; attempt++) {
      const current = await this.readCluster(id);
      if (!current) return null;
      const next = structuredClone(current);
      delete (next as { links?: unknown }).links;
      next.spec ??= {};
      next.spec.rkeConfig ??= {};
      if (!change(next)) return current;
      try {
        const res = await this.client.request<ProvisioningCluster>({
          method: 'PUT',
          route: ROUTES.cluster,
          params: ref,
          body: next,
          // Not resent as is: a 409 needs a fresh read, which this loop does.
          idempotent: false,
        });
        return this.object(res.data, 'PUT', id);
      } catch (error) {
        if (isBackendError(error) && error.kind === 'conflict' && attempt < UPDATE_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  private async readCluster(id: string): Promise<ProvisioningCluster | null> {
    const ref = splitClusterId(id);
    if (!ref) return null;
    try {
      const res = await this.client.request<ProvisioningCluster>({
        method: 'GET',
        route: ROUTES.cluster,
        params: ref,
      });
      return this.object(res.data, 'GET', id);
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }

  private async deleteQuietly(route: string, params: Record<string, string>): Promise<void> {
    try {
      // 200 (now being removed) and 204 (gone) both mean the delete is under way or done.
      await this.client.request({ method: 'DELETE', route, params, idempotent: true });
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return;
      throw error;
    }
  }

  private clusterRef(id: string): { namespace: string; name: string } {
    const ref = splitClusterId(id);
    if (!ref) throw this.client.unexpected({ method: 'GET', path: id }, 'not a provisioning cluster id');
    return ref;
  }

  private poolRef(id: string): { clusterId: string; pool: string } {
    const ref = splitPoolId(id);
    if (!ref) throw this.client.unexpected({ method: 'GET', path: id }, 'not a machine pool id');
    return ref;
  }

  private gone(method: BackendError['method'], path: string): BackendError {
    return new BackendError({
      kind: 'not-found',
      retryable: false,
      backend: this.client.backend,
      method,
      path,
      detail: 'the cluster or its pool is gone from the backend',
    });
  }

  private object<T>(data: T, method: BackendError['method'], path: string): T {
    if (!isSteveObject(data))
      throw this.client.unexpected({ method, path }, 'expected a steve object with metadata');
    return data;
  }
}

/** Marks a `takeBackup` answer that names no snapshot yet (see `takeBackup`). */
const PENDING_SNAPSHOT = 'pending-snapshot';

/** The backup a raised `etcdSnapshotCreate.generation` stands for until its snapshot is listed. */
const pendingSnapshot = (
  marker: string,
  clusterId: string,
  clusterName: string,
  generation: number | string,
): RemoteBackup => ({
  id: marker,
  clusterId,
  name: `${clusterName} snapshot generation ${generation}`,
  createdAt: null,
  state: 'activating',
  message: '',
  manual: true,
  kubernetesVersion: null,
  size: null,
});

/** One credential per cluster, found again by this name. */
const credentialNameOf = (paddockId: string) => `paddock-etcd-${paddockId}`;

/**
 * The endpoint as RKE2/K3s take it. Rancher passes `rkeConfig.etcd.s3.endpoint` through unchanged
 * as `etcd-s3-endpoint` (pkg/capr/planner/s3args.go), and k3s hands it to minio-go's `minio.New`
 * with `Secure: !etcd-s3-insecure` (k3s pkg/etcd/s3/s3.go): it wants `host[:port]` and speaks
 * HTTPS unless told otherwise; minio-go refuses an `http://` URL while secure (utils.go
 * `getEndpointURL`), and older minio-go releases refuse any scheme.
 */
export function rke2S3Endpoint(endpoint: string): { host: string; insecure: boolean } {
  const match = /^(https?):\/\/([^/]+)\/?$/i.exec(endpoint.trim());
  if (!match) return { host: endpoint.trim(), insecure: false };
  return { host: match[2], insecure: match[1].toLowerCase() === 'http' };
}

/**
 * Rancher's S3 block has no "insecure" field (ETCDSnapshotS3 in pkg/apis/rke.cattle.io/v1:
 * endpoint, endpointCA, skipSSLVerify, bucket, region, cloudCredentialName, folder), so a plain
 * HTTP endpoint is asked for the one other way Rancher offers: `machineGlobalConfig`, which the
 * planner writes into the same config.yaml as the `etcd-s3-*` settings (planner/config.go
 * `addConfigFile`: `addUserConfig`, then `addETCD`), read by the server and by `etcd-snapshot save`.
 */
function insecureS3Config(backup: ClusterBackupSpec): { machineGlobalConfig?: Record<string, unknown> } {
  return rke2S3Endpoint(backup.target.endpoint).insecure
    ? { machineGlobalConfig: { 'etcd-s3-insecure': true } }
    : {};
}

/**
 * `rkeConfig.etcd` for a schedule. Cron has no "every N hours" past a day: intervals of a day or
 * more become every round(N/24) days at midnight.
 */
export function toEtcdConfig(backup: ClusterBackupSpec, credential: string): Record<string, unknown> {
  const hours = backup.schedule.intervalHours;
  const cron = hours < 24 ? `0 */${hours} * * *` : `0 0 */${Math.round(hours / 24)} * *`;
  return {
    snapshotScheduleCron: cron,
    snapshotRetention: backup.schedule.retention,
    s3: {
      bucket: backup.target.bucket,
      endpoint: rke2S3Endpoint(backup.target.endpoint).host,
      region: backup.target.region,
      cloudCredentialName: credential,
    },
  };
}
