import { randomChars, uuid } from './ids';
import { KubeClusters } from './kube/clusters';
import { CloudCredentialType } from './resources/cloud-credentials';
import { ClusterType } from './resources/clusters';
import { EtcdBackupType } from './resources/etcd-backups';
import { NodePoolType } from './resources/node-pools';
import { NodeTemplateType } from './resources/node-templates';
import { NodeType } from './resources/nodes';
import { RegistrationTokenType } from './resources/registration-tokens';
import { k8sTime, type ResourceType } from './resources/resource-type';
import { SettingType } from './resources/settings';
import { Scheduler } from './scheduler';
import { ClusterObjects } from './kube/store';
import { SteveTypes } from './steve/types';
import { FleetController } from './fleet/controller';
import { keepsNodePoolSchema, parseRancherVersion, servesRke1, type RancherVersion } from './version';
import type { Condition } from './state';
import type { SimObject } from './store';
import type { SimulatorTimings } from './timings';

export interface WorldConfig {
  version: string;
  kubernetesVersions: string[];
  /** RKE2 and K3s releases the channel server lists (`+rke2rN`, `+k3sN`). */
  rke2Versions: string[];
  k3sVersions: string[];
  timings: SimulatorTimings;
  token: string;
  /** Rancher's `fleet` feature: off, no Fleet type is served. */
  fleet?: boolean;
}

/** Everything one simulated Rancher server holds: objects, controllers, timers, settings. */
export class World {
  readonly scheduler = new Scheduler();
  readonly timings: SimulatorTimings;
  readonly version: string;
  readonly rancher: RancherVersion;
  readonly kubernetesVersions: string[];
  readonly rke2Versions: string[];
  readonly k3sVersions: string[];
  /** Whether Rancher installed Fleet (its `fleet` feature). */
  readonly fleetInstalled: boolean;
  /** The local (Rancher's own) cluster's objects behind steve `/v1`: one resourceVersion counter. */
  readonly local = new ClusterObjects();
  /** The admin user every request acts as (creatorId, kubeconfig token names, RBAC messages). */
  readonly userId = `u-${randomChars(5)}`;
  /** Bearer values accepted: the configured API key plus kubeconfig tokens minted by the server. */
  readonly tokens = new Set<string>();
  /** What each downstream cluster's kube-apiserver stores (namespaces, configmaps). */
  readonly kube = new KubeClusters();
  /** Rancher's `server-url` setting; controllers that run outside a request build URLs from it. */
  serverUrl = '';

  readonly clusters: ClusterType;
  readonly nodePools: NodePoolType;
  readonly nodes: NodeType;
  readonly nodeTemplates: NodeTemplateType;
  readonly registrationTokens: RegistrationTokenType;
  readonly etcdBackups: EtcdBackupType;
  readonly settings: SettingType;
  readonly cloudCredentials: CloudCredentialType;
  readonly steve: SteveTypes;
  /** Fleet on the local cluster: registration, HelmOps, bundles and their deployments (rancher-212.md §4.b). */
  readonly fleet: FleetController;
  /** Types by every lower-cased spelling a path may use: schema id or plural (§2.5). */
  private readonly typesByPath = new Map<string, ResourceType>();

  constructor(config: WorldConfig) {
    this.timings = config.timings;
    this.version = config.version;
    this.rancher = parseRancherVersion(config.version);
    this.kubernetesVersions = config.kubernetesVersions;
    this.rke2Versions = config.rke2Versions;
    this.k3sVersions = config.k3sVersions;
    this.fleetInstalled = config.fleet ?? true;
    this.tokens.add(config.token);
    this.clusters = new ClusterType(this);
    this.nodePools = new NodePoolType(this);
    this.nodes = new NodeType(this);
    this.nodeTemplates = new NodeTemplateType(this);
    this.registrationTokens = new RegistrationTokenType(this);
    this.etcdBackups = new EtcdBackupType(this);
    this.settings = new SettingType(this);
    this.cloudCredentials = new CloudCredentialType(this);
    this.fleet = new FleetController(this);
    this.steve = new SteveTypes(this);
    for (const type of this.types()) {
      this.typesByPath.set(type.schemaId.toLowerCase(), type);
      this.typesByPath.set(type.collectionName, type);
    }
  }

  /** The `/v3` schemas this version serves: 2.12 dropped the RKE1 ones (rancher-212.md §1.3). */
  types(): ResourceType[] {
    const rke1 = servesRke1(this.rancher);
    return [
      this.clusters,
      ...(keepsNodePoolSchema(this.rancher) ? [this.nodePools] : []),
      this.nodes,
      ...(rke1 ? [this.nodeTemplates] : []),
      this.registrationTokens,
      ...(rke1 ? [this.etcdBackups] : []),
      this.settings,
      this.cloudCredentials,
    ];
  }

  typeForPath(segment: string): ResourceType | undefined {
    return this.typesByPath.get(segment.toLowerCase());
  }

  get defaultKubernetesVersion(): string {
    return this.kubernetesVersions[0];
  }

  newObject(
    type: string,
    id: string,
    name: string,
    fields: Record<string, unknown>,
    conditions: Condition[] = [],
  ): SimObject {
    const created = k8sTime();
    return {
      id,
      type,
      name,
      uuid: uuid(),
      created,
      createdTS: Date.parse(created),
      labels: {},
      annotations: { 'field.cattle.io/creatorId': this.userId },
      conditions,
      fields,
      hidden: {},
    };
  }

  close(): void {
    this.scheduler.close();
    this.kube.close();
    this.local.close();
  }
}
