import { generateName, randomChars, tokenSecret } from '../ids';
import {
  ApiError,
  invalidAction,
  invalidFormat,
  isPlainObject,
  json,
  missingRequired,
  notFound,
  type SimResponse,
} from '../http';
import { clone, deepMerge, mergeProtectedMap, stringMap } from '../merge';
import { naturalCompare } from '../naming';
import { conditionStatus, isTrue, setCondition } from '../state';
import type { SimObject } from '../store';
import type { World } from '../world';
import { keepsRkeClusterField, servesRke1 } from '../version';
import { toYaml } from '../yaml';
import { k8sName, ResourceType, type RequestContext } from './resource-type';

/** Cluster spec fields a client may write on create and update (§3.1, `zz_generated_cluster.go`). */
const WRITABLE = [
  'description',
  'enableNetworkPolicy',
  'rancherKubernetesEngineConfig',
  'localClusterAuthEndpoint',
  'agentEnvVars',
  'dockerRootDir',
  'defaultPodSecurityAdmissionConfigurationTemplateName',
  'fleetWorkspaceName',
  'clusterAgentDeploymentCustomization',
  'fleetAgentDeploymentCustomization',
];
/** String maps inside the RKE config that a PUT replaces instead of merging (§2.9). */
const MAP_FIELDS = new Set(['extraArgs', 'extraEnv', 'options', 'nodeSelector', 'labels', 'annotations']);

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_MESSAGE =
  "a DNS-1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an " +
  "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const PROVISIONING_MESSAGE = 'waiting for etcd, controlplane and worker nodes to be registered';

/** Per-node quantities summed into the cluster's capacity maps (§3.2 example values). */
const NODE_SHARE = { cpu: 4, memoryKi: 16380640, allocatableKi: 16278240, pods: 110 };
const NODE_REQUESTS = { cpuMilli: 350, memoryMi: 140, pods: 6, limitCpuMilli: 100, limitMemoryMi: 340 };

type Rke = Record<string, unknown>;

export class ClusterType extends ResourceType {
  /** Lower-cased display name → id of live clusters: the case-insensitive uniqueness check (§3.1). */
  private readonly names = new Map<string, string>();

  constructor(world: World) {
    super(world, {
      schemaId: 'cluster',
      plural: 'clusters',
      scoped: false,
      filters: ['name', 'driver', 'internal', 'fleetWorkspaceName'],
      schemaActions: [
        'generateKubeconfig',
        'importYaml',
        'exportYaml',
        'backupEtcd',
        'restoreFromEtcdBackup',
        'rotateCertificates',
        'rotateEncryptionKey',
        'saveAsTemplate',
      ],
    });
  }

  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const object = this.build(body);
    this.add(object);
    this.reconcile(object);
    return object;
  }

  /** An already-active RKE cluster, for `/__sim/seed`: no controller step left to run. */
  createActive(name: string, labels: Record<string, string>): SimObject {
    const object = this.build({ name, labels, rancherKubernetesEngineConfig: {} });
    for (const type of ['Provisioned', 'Waiting', 'InitialRolesPopulated', 'Ready', 'Updated', 'Connected']) {
      setCondition(object.conditions, type, 'True');
    }
    this.markConnected(object);
    this.add(object);
    return object;
  }

  /**
   * The management cluster of a provisioning-v2 cluster (`c-m-` + 8 chars, rancher-212.md §1.4):
   * `driver` rke2/k3s (or imported), the provisioning cluster's name, no RKE1 config.
   */
  createTwin(name: string, driver: string, kubernetesVersion: string, fleetWorkspaceName: string): SimObject {
    let id = '';
    do id = `c-m-${randomChars(8)}`;
    while (this.table.has(id));
    const object = this.newTwin(id, name, driver, fleetWorkspaceName);
    object.hidden.kubernetesVersion = kubernetesVersion;
    setCondition(object.conditions, 'Provisioned', 'Unknown', 'waiting for viable init node');
    this.add(object);
    this.reconcile(object);
    return object;
  }

  /** The agent connected, or the cluster now runs `kubernetesVersion`: version and endpoint fields. */
  connectTwin(twin: SimObject, kubernetesVersion: string): void {
    twin.hidden.kubernetesVersion = kubernetesVersion;
    this.markConnected(twin);
  }

  private newTwin(id: string, name: string, driver: string, fleetWorkspaceName: string): SimObject {
    const object = this.world.newObject('cluster', id, name, {
      ...this.baseFields(fleetWorkspaceName),
      driver,
      provider: driver === 'imported' ? '' : driver,
    });
    object.hidden.createdAt = Date.now();
    object.labels = { 'provider.cattle.io': driver };
    return object;
  }

  /** What every cluster shows before a driver or agent fills anything in (an imported one, §3.1). */
  private baseFields(fleetWorkspaceName: string): Record<string, unknown> {
    return {
      description: '',
      enableNetworkPolicy: false,
      internal: false,
      driver: 'imported',
      provider: '',
      apiEndpoint: '',
      caCert: '',
      version: null,
      agentImage: `rancher/rancher-agent:${this.world.version}`,
      clusterSecrets: {},
      localClusterAuthEndpoint: { enabled: false },
      fleetWorkspaceName,
    };
  }

  private add(object: SimObject): void {
    this.table.add(object);
    this.names.set(object.name.toLowerCase(), object.id);
  }

  private build(body: Record<string, unknown>): SimObject {
    const name = this.validateName(body.name, undefined);
    const id = generateName('c-', (candidate) => this.table.has(candidate));
    const fields: Record<string, unknown> = {
      ...this.baseFields('fleet-default'),
      dockerRootDir: '/var/lib/docker',
    };
    for (const field of WRITABLE) if (body[field] !== undefined) fields[field] = clone(body[field]);
    const object = this.world.newObject('cluster', id, name, fields);
    object.hidden.createdAt = Date.now();
    if (isPlainObject(fields.rancherKubernetesEngineConfig) && !servesRke1(this.world.rancher)) {
      // 2.12–2.14 store the block but no driver maps it; 2.15 drops the field (rancher-212.md §1.2).
      if (!keepsRkeClusterField(this.world.rancher)) delete fields.rancherKubernetesEngineConfig;
      fields.driver = '';
      setCondition(object.conditions, 'Pending', 'Unknown', 'Waiting for the cluster agent to connect');
    } else if (isPlainObject(fields.rancherKubernetesEngineConfig)) {
      const rke = fields.rancherKubernetesEngineConfig;
      this.applyRkeDefaults(rke);
      this.moveSecrets(object, fields);
      fields.driver = 'rancherKubernetesEngine';
      fields.provider = 'rke';
      // setInitialConditions: the create response already reads `provisioning` (§3.1).
      setCondition(object.conditions, 'Pending', 'True');
      setCondition(object.conditions, 'Provisioned', 'Unknown', PROVISIONING_MESSAGE);
      setCondition(object.conditions, 'Waiting', 'Unknown', 'Waiting for API to be available');
    } else {
      // An imported cluster waits for its agent, which never comes in a simulator (§5).
      setCondition(object.conditions, 'Pending', 'Unknown', 'Waiting for the cluster agent to connect');
    }
    object.labels = stringMap(body.labels);
    Object.assign(object.annotations, stringMap(body.annotations));
    return object;
  }

  override update(
    object: SimObject,
    body: Record<string, unknown>,
    replace: boolean,
    _ctx: RequestContext,
  ): void {
    // The store rejects a PUT without `name` (§3.4), which validateName reports as on create.
    const name = this.validateName(body.name, object.id);
    const next: Record<string, unknown> = { ...object.fields };
    if (replace) for (const field of WRITABLE) if (!(field in body)) delete next[field];
    for (const field of WRITABLE) {
      if (body[field] === undefined) continue;
      next[field] = replace ? clone(body[field]) : deepMerge(next[field], body[field], MAP_FIELDS, field);
    }
    const rke = next.rancherKubernetesEngineConfig;
    if (isPlainObject(rke)) this.normalizeVersion(rke);

    const before = JSON.stringify(object.fields.rancherKubernetesEngineConfig ?? null);
    const rkeChanged =
      object.fields.driver === 'rancherKubernetesEngine' && JSON.stringify(rke ?? null) !== before;
    if (rkeChanged) this.checkCanUpgrade(object, rke as Rke | undefined);
    this.moveSecrets(object, next);
    object.fields = next;
    if (object.removed === undefined) {
      this.names.delete(object.name.toLowerCase());
      this.names.set(name.toLowerCase(), object.id);
    }
    object.name = name;
    object.labels = mergeProtectedMap(object.labels, body.labels);
    object.annotations = mergeProtectedMap(object.annotations, body.annotations);
    if (rkeChanged) this.startUpdate(object);
  }

  /**
   * The cluster store's guard on an RKE config change of a provisioned, up-to-date cluster that is
   * not mid-upgrade (§3.4, `validateUnavailableNodes` → `canUpgrade`): nodes with the control role
   * and worker-only nodes are counted ready or not (etcd-only nodes are not counted); as many
   * not-ready nodes as the strategy's maxUnavailable refuses the change with a 500 text error,
   * control plane first. Nothing is written.
   */
  private checkCanUpgrade(cluster: SimObject, rke: Rke | undefined): void {
    const { conditions } = cluster;
    if (!isTrue(conditions, 'Provisioned') || !isTrue(conditions, 'Updated')) return;
    if (conditionStatus(conditions, 'Upgraded') === 'Unknown') return;
    const strategy = (isPlainObject(rke?.upgradeStrategy) ? rke.upgradeStrategy : {}) as Record<
      string,
      unknown
    >;
    const count = { control: [0, 0], worker: [0, 0] };
    for (const node of this.world.nodes.table.where('clusterId', cluster.id)) {
      if (node.removed !== undefined) continue;
      const group =
        node.fields.controlPlane === true ? count.control : node.fields.worker === true ? count.worker : null;
      if (group) group[isTrue(node.conditions, 'Ready') ? 0 : 1]++;
    }
    for (const [label, [ready, notReady], setting] of [
      ['control plane', count.control, strategy.maxUnavailableControlplane ?? '1'],
      ['worker', count.worker, strategy.maxUnavailableWorker ?? '10%'],
    ] as const) {
      const max = maxUnavailable(String(setting), ready + notReady);
      if (notReady >= max) {
        throw new ApiError(
          500,
          'ServerError',
          `not enough ${label} nodes ready to upgrade, maxUnavailable: ${max}, notReady: ${notReady}, ready: ${ready}`,
        );
      }
    }
  }

  /** Everything in the cluster's namespace goes with it (§3.5). */
  override remove(object: SimObject): void {
    if (object.removed !== undefined) return;
    if (this.names.get(object.name.toLowerCase()) === object.id) this.names.delete(object.name.toLowerCase());
    for (const child of this.children(object)) child.type.markRemoved(child.object);
    super.remove(object);
  }

  protected override deleteDelayMs(): number {
    return this.world.timings.clusterDeleteMs;
  }

  override finishRemove(object: SimObject): void {
    for (const child of this.children(object)) child.type.finishRemove(child.object);
    super.finishRemove(object);
    this.world.kube.forget(object.id);
  }

  private children(cluster: SimObject): Array<{ type: ResourceType; object: SimObject }> {
    const out: Array<{ type: ResourceType; object: SimObject }> = [];
    for (const type of [
      this.world.nodes,
      this.world.nodePools,
      this.world.etcdBackups,
      this.world.registrationTokens,
    ]) {
      for (const object of type.table.where('clusterId', cluster.id)) out.push({ type, object });
    }
    return out;
  }

  nameTaken(name: string): boolean {
    return this.names.has(name.toLowerCase());
  }

  /** True once the permission window after create is over (§11.9). */
  rolesPopulated(cluster: SimObject): boolean {
    return isTrue(cluster.conditions, 'InitialRolesPopulated');
  }

  /**
   * The provisioner: each call schedules the next step the conditions allow. A condition set to
   * False (by `/__sim/conditions`) stops the script there, like a failing RKE run (§3.3).
   */
  override reconcile(cluster: SimObject): void {
    if (!this.isLive(cluster)) return;
    const { scheduler, timings } = this.world;
    const conditions = cluster.conditions;
    if (!this.rolesPopulated(cluster)) {
      const remaining = (cluster.hidden.createdAt as number) + timings.permissionWindowMs - Date.now();
      scheduler.ensure(`${cluster.id}#roles`, Math.max(0, remaining), () => {
        if (!this.isLive(cluster)) return;
        setCondition(conditions, 'InitialRolesPopulated', 'True');
      });
    }
    if (cluster.fields.driver !== 'rancherKubernetesEngine') return;

    const provisioned = conditionStatus(conditions, 'Provisioned');
    if (provisioned === 'Unknown') {
      if (!this.rolesCovered(cluster)) return;
      scheduler.ensure(`${cluster.id}#provision`, timings.clusterProvisionMs, () => {
        if (!this.isLive(cluster) || conditionStatus(conditions, 'Provisioned') !== 'Unknown') return;
        if (!this.rolesCovered(cluster)) return;
        setCondition(conditions, 'Provisioned', 'True');
        this.reconcile(cluster);
      });
      return;
    }
    if (provisioned !== 'True') return;

    if (conditionStatus(conditions, 'Waiting') === 'Unknown') {
      scheduler.ensure(`${cluster.id}#connect`, timings.clusterConnectMs, () => {
        if (!this.isLive(cluster) || conditionStatus(conditions, 'Waiting') !== 'Unknown') return;
        setCondition(conditions, 'Waiting', 'True');
        setCondition(conditions, 'Ready', 'True');
        if (conditionStatus(conditions, 'Updated') !== 'False') setCondition(conditions, 'Updated', 'True');
        setCondition(conditions, 'Connected', 'True');
        this.markConnected(cluster);
        this.world.etcdBackups.armRecurring(cluster);
        this.reconcile(cluster);
      });
      return;
    }
    // A restore finishes on its own timer, once the snapshot was read back (see `restore`).
    const restoring = cluster.hidden.restoreFrom !== undefined;
    if (conditionStatus(conditions, 'Updated') === 'Unknown' && isTrue(conditions, 'Waiting') && !restoring) {
      scheduler.ensure(`${cluster.id}#update`, timings.clusterUpdateMs, () => {
        if (!this.isLive(cluster) || conditionStatus(conditions, 'Updated') !== 'Unknown') return;
        if (cluster.hidden.restoreFrom !== undefined) return;
        setCondition(conditions, 'Updated', 'True');
        this.markConnected(cluster);
        this.world.etcdBackups.armRecurring(cluster);
      });
    }
  }

  /** RKE only runs once live, active nodes hold all three roles (§3.3 step 2). */
  private rolesCovered(cluster: SimObject): boolean {
    let etcd = false;
    let controlPlane = false;
    let worker = false;
    for (const node of this.world.nodes.table.where('clusterId', cluster.id)) {
      if (node.removed !== undefined || !isTrue(node.conditions, 'Ready')) continue;
      etcd ||= node.fields.etcd === true;
      controlPlane ||= node.fields.controlPlane === true;
      worker ||= node.fields.worker === true;
    }
    return etcd && controlPlane && worker;
  }

  /** Status fields the agent reports once connected (§3.2). */
  private markConnected(cluster: SimObject): void {
    const gitVersion = this.kubernetesVersionOf(cluster).replace(/-rancher.*$/, '');
    const [major = '', minor = ''] = gitVersion.replace(/^v/, '').split('.');
    cluster.fields.version = {
      major,
      minor,
      gitVersion,
      gitCommit: '',
      gitTreeState: 'clean',
      buildDate: cluster.created,
      goVersion: 'go1.23.6',
      compiler: 'gc',
      platform: 'linux/amd64',
    };
    if (cluster.fields.apiEndpoint === '') {
      cluster.fields.apiEndpoint = `https://10.${randomOctet()}.${randomOctet()}.${randomOctet()}:6443`;
      cluster.fields.caCert = Buffer.from(
        `-----BEGIN CERTIFICATE-----\n${randomChars(64)}\n-----END CERTIFICATE-----\n`,
      ).toString('base64');
    }
  }

  private startUpdate(cluster: SimObject): void {
    setCondition(cluster.conditions, 'Updated', 'Unknown');
    this.reconcile(cluster);
  }

  /** DNS label, then case-insensitive uniqueness among clusters not being removed (§3.1). */
  private validateName(value: unknown, selfId: string | undefined): string {
    if (value === undefined || value === null || value === '') throw missingRequired('Cluster name');
    const name = typeof value === 'string' ? value : JSON.stringify(value);
    if (name.length > 63 || !DNS_LABEL.test(name)) {
      const detail = name.length > 63 ? 'must be no more than 63 characters' : DNS_LABEL_MESSAGE;
      throw invalidFormat('name', 'InvalidFormat', `invalid value ${name}: ${detail}`);
    }
    const owner = this.names.get(name.toLowerCase());
    if (owner !== undefined && owner !== selfId) throw new ApiError(422, 'NotUnique', '', 'Cluster name');
    return name;
  }

  /** Server-side defaults of `cluster_store.go` `Create` (§3.1). */
  private applyRkeDefaults(rke: Rke): void {
    this.normalizeVersion(rke);
    rke.network ??= { plugin: 'canal' };
    rke.ingress ??= { provider: 'nginx' };
    rke.enableCriDockerd = true;
    rke.upgradeStrategy ??= {
      maxUnavailableControlplane: '1',
      maxUnavailableWorker: '10%',
      drain: false,
      nodeDrainInput: {
        ignoreDaemonSets: true,
        gracePeriod: -1,
        timeout: 120,
        deleteLocalData: false,
        force: false,
      },
    };
    const services = (rke.services = isPlainObject(rke.services) ? rke.services : {});
    const etcd = (services.etcd = isPlainObject(services.etcd) ? services.etcd : {});
    etcd.backupConfig ??= { enabled: true, intervalHours: 12, retention: 6 };
  }

  /**
   * Empty → the `k8s-version` default; plain semver → the matching supported `-rancherN-M`;
   * anything else unsupported → 500, as `cluster_store.go` answers (§3.1).
   */
  private normalizeVersion(rke: Rke): void {
    const requested = rke.kubernetesVersion;
    const supported = this.world.kubernetesVersions;
    if (requested === undefined || requested === null || requested === '') {
      rke.kubernetesVersion = this.world.defaultKubernetesVersion;
      return;
    }
    const version = String(requested);
    if (supported.includes(version)) return;
    if (!/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
      throw new ApiError(500, 'ServerError', `Requested kubernetesVersion ${version} is not of valid semver`);
    }
    const plain = version.startsWith('v') ? version : `v${version}`;
    const match = supported
      .filter((candidate) => candidate.startsWith(`${plain}-rancher`))
      .sort(naturalCompare)
      .pop();
    if (!match) {
      throw new ApiError(
        500,
        'ServerError',
        `Requested kubernetesVersion ${version} is not supported currently`,
      );
    }
    rke.kubernetesVersion = match;
  }

  /** `secretKey` moves into a secret the cluster only references; reads show it empty (§3.1). */
  private moveSecrets(cluster: SimObject, fields: Record<string, unknown>): void {
    const s3 = s3Config(fields.rancherKubernetesEngineConfig as Rke | undefined);
    if (!s3) return;
    if (typeof s3.secretKey === 'string' && s3.secretKey !== '') {
      cluster.hidden.s3SecretKey = s3.secretKey;
      fields.clusterSecrets = {
        ...(fields.clusterSecrets as Record<string, unknown>),
        s3CredentialSecret: `cattle-global-data:cluster-s3backup-${cluster.id}`,
      };
    }
    s3.secretKey = '';
  }

  override renderFields(object: SimObject, ctx: RequestContext): Record<string, unknown> {
    const nodes = this.world.nodes.table.where('clusterId', object.id);
    let ready = 0;
    let linuxWorkers = 0;
    for (const node of nodes) {
      if (!isTrue(node.conditions, 'Ready')) continue;
      ready++;
      if (node.fields.worker === true) linuxWorkers++;
    }
    const out = super.renderFields(object, ctx);
    out.nodeCount = nodes.length;
    out.linuxWorkerCount = linuxWorkers;
    out.windowsWorkerCount = 0;
    // Empty as on every Kubernetes >= 1.22 (§3.2), unless a test reported components through
    // `/__sim/component-statuses` (what an older cluster's health syncer would fill in).
    out.componentStatuses = clone(this.componentStatusesOf(object));
    Object.assign(out, resourceSums(ready));
    return out;
  }

  override links(object: SimObject, ctx: RequestContext): Record<string, string> {
    const byCluster = (plural: string) => `${ctx.baseUrl}/v3/${plural}?clusterId=${object.id}`;
    return {
      shell: `${ctx.baseUrl.replace(/^http/, 'ws')}/v3/clusters/${object.id}?shell=true`,
      nodePools: byCluster('nodePools'),
      nodes: byCluster('nodes'),
      clusterRegistrationTokens: byCluster('clusterRegistrationTokens'),
      etcdBackups: byCluster('etcdBackups'),
    };
  }

  /** 2.12+ sends schema actions it no longer offers to the handler, which answers 404 (rancher-212.md §1.3). */
  override get checksOfferedActions(): boolean {
    return servesRke1(this.world.rancher);
  }

  /** The formatter's conditional action list (§3.6). */
  override actions(object: SimObject): string[] {
    // 2.12's formatter offers only these two (rancher-212.md §1.3).
    if (!servesRke1(this.world.rancher)) return ['generateKubeconfig', 'importYaml'];
    const actions = ['generateKubeconfig'];
    if (object.fields.driver !== 'rancherKubernetesEngine') return actions;
    actions.push('exportYaml');
    const rke = object.fields.rancherKubernetesEngineConfig as Rke;
    if (backupConfig(rke)) actions.push('backupEtcd', 'restoreFromEtcdBackup');
    actions.push('rotateCertificates');
    if (encryptionEnabled(rke)) actions.push('rotateEncryptionKey');
    return actions;
  }

  override runAction(
    object: SimObject,
    name: string,
    body: Record<string, unknown>,
    ctx: RequestContext,
  ): SimResponse {
    if (name === 'generateKubeconfig') return this.generateKubeconfig(object, ctx);
    // Schema actions 2.12 no longer implements reach the handler's default branch (§1.3).
    if (!servesRke1(this.world.rancher)) throw new ApiError(404, 'NotFound', 'not found');
    switch (name) {
      case 'exportYaml':
        return json(200, { yamlOutput: this.exportYaml(object) });
      case 'backupEtcd':
        return json(200, this.world.etcdBackups.toK8s(this.world.etcdBackups.createFor(object, true)));
      case 'restoreFromEtcdBackup':
        return this.restore(object, body);
      case 'rotateCertificates':
        return this.rotateCertificates(object, body);
      case 'rotateEncryptionKey':
        return this.rotateEncryptionKey(object);
      default:
        throw invalidAction(`Invalid action: ${name}`);
    }
  }

  /** A new kubeconfig token on every call (§1.1, §3.6). */
  private generateKubeconfig(cluster: SimObject, ctx: RequestContext): SimResponse {
    const token = `kubeconfig-${this.world.userId}${randomChars(5)}:${tokenSecret()}`;
    this.world.tokens.add(token);
    const name = cluster.name;
    const config =
      'apiVersion: v1\nkind: Config\n' +
      toYaml({
        clusters: [{ name, cluster: { server: `${ctx.baseUrl}/k8s/clusters/${cluster.id}` } }],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { user: name, cluster: name } }],
        'current-context': name,
      });
    return json(200, { type: 'generateKubeconfigOutput', config });
  }

  private exportYaml(cluster: SimObject): string {
    const spec: Record<string, unknown> = { name: cluster.name };
    for (const field of WRITABLE)
      if (cluster.fields[field] !== undefined) spec[field] = cluster.fields[field];
    const pools = this.world.nodePools.table.where('clusterId', cluster.id).map((pool) => {
      const spec: Record<string, unknown> = { name: k8sName(pool.id), ...pool.fields };
      delete spec.clusterId;
      return spec;
    });
    return toYaml({ clusters: { [cluster.name]: spec }, nodePools: pools });
  }

  /** Sets `rancherKubernetesEngineConfig.restore` and lets the provisioner run (§3.6). */
  private restore(cluster: SimObject, body: Record<string, unknown>): SimResponse {
    const backupId = body.etcdBackupId;
    if (typeof backupId !== 'string' || !/^[^:]+:[^:]+$/.test(backupId)) {
      throw new ApiError(422, 'InvalidFormat', `invalid input id ${String(backupId ?? '')}`);
    }
    const restoreRkeConfig = body.restoreRkeConfig ?? '';
    if (restoreRkeConfig !== '' && restoreRkeConfig !== 'kubernetesVersion' && restoreRkeConfig !== 'all') {
      throw new ApiError(422, 'InvalidOption', '', 'restoreRkeConfig');
    }
    const backup = this.world.etcdBackups.table.get(backupId);
    if (!backup || backup.fields.clusterId !== cluster.id) throw notFound('etcdbackups', k8sName(backupId));
    const rke = cluster.fields.rancherKubernetesEngineConfig as Rke;
    rke.restore = { restore: true, snapshotName: backupId };
    const backupVersion = this.world.etcdBackups.kubernetesVersionOf(backup);
    if (restoreRkeConfig !== '' && backupVersion) rke.kubernetesVersion = backupVersion;
    cluster.hidden.restoreFrom = backupId;
    setCondition(cluster.conditions, 'Updated', 'Unknown');
    this.runRestore(cluster, backup);
    return json(201, { message: 'restoring etcdbackup for the cluster' });
  }

  /**
   * The provisioner's restore run: after `clusterUpdateMs` the snapshot is read back from S3. A
   * snapshot that is gone (or keys that are refused) leaves `Updated=False` with the reason, as
   * RKE's failed run does; success clears the spec's restore request and the cluster is active.
   */
  private runRestore(cluster: SimObject, backup: SimObject): void {
    const backupId = backup.id;
    // A second restore request replaces a pending one (the key carries the backup).
    this.world.scheduler.ensure(
      `${cluster.id}#restore:${backupId}`,
      this.world.timings.clusterUpdateMs,
      () => {
        if (!this.isLive(cluster) || cluster.hidden.restoreFrom !== backupId) return;
        void this.world.etcdBackups.readBack(backup, cluster).then((failure) => {
          if (!this.isLive(cluster) || cluster.hidden.restoreFrom !== backupId) return;
          delete cluster.hidden.restoreFrom;
          if (failure !== null) {
            setCondition(cluster.conditions, 'Updated', 'False', failure, 'Error');
            return;
          }
          (cluster.fields.rancherKubernetesEngineConfig as Rke).restore = {
            restore: false,
            snapshotName: '',
          };
          setCondition(cluster.conditions, 'Updated', 'True');
          this.markConnected(cluster);
        });
      },
    );
  }

  private rotateCertificates(cluster: SimObject, body: Record<string, unknown>): SimResponse {
    const caCertificates = body.caCertificates === true;
    const service = typeof body.services === 'string' ? body.services : '';
    const rke = cluster.fields.rancherKubernetesEngineConfig as Rke;
    rke.rotateCertificates = { caCertificates, services: service === '' ? [] : [service] };
    this.startUpdate(cluster);
    const message = caCertificates
      ? 'rotating CA certificates and all components'
      : service === ''
        ? 'rotating certificates for all components'
        : `rotating [${service}] certificates`;
    return json(200, { type: 'rotateCertificateOutput', message });
  }

  private rotateEncryptionKey(cluster: SimObject): SimResponse {
    if (!isTrue(cluster.conditions, 'Updated')) throw invalidAction('cluster is in updating state');
    (cluster.fields.rancherKubernetesEngineConfig as Rke).rotateEncryptionKey = true;
    this.startUpdate(cluster);
    return json(200, { type: 'rotateEncryptionKeyOutput', message: 'starting rotate encryption key' });
  }

  /** The S3 target of the cluster's backups, if any (etcd backups name themselves after it). */
  s3Target(cluster: SimObject): Record<string, unknown> | undefined {
    return s3Config(cluster.fields.rancherKubernetesEngineConfig as Rke | undefined);
  }

  backupConfigOf(cluster: SimObject): Record<string, unknown> | undefined {
    return backupConfig(cluster.fields.rancherKubernetesEngineConfig as Rke | undefined);
  }

  /** `{name, conditions: [{type: "Healthy", status, message?, error?}]}` per component, sorted by name. */
  componentStatusesOf(cluster: SimObject): ComponentStatus[] {
    return (cluster.hidden.componentStatuses as ComponentStatus[] | undefined) ?? [];
  }

  /** Records one component's health, as Rancher's health syncer does for clusters below 1.22. */
  setComponentStatus(
    cluster: SimObject,
    name: string,
    status: 'True' | 'False' | 'Unknown',
    text: { message?: string; error?: string },
  ): void {
    const condition: ComponentStatus['conditions'][number] = { type: 'Healthy', status };
    if (text.message) condition.message = text.message;
    if (text.error) condition.error = text.error;
    const others = this.componentStatusesOf(cluster).filter((c) => c.name !== name);
    cluster.hidden.componentStatuses = [...others, { name, conditions: [condition] }].sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  }

  kubernetesVersionOf(cluster: SimObject): string {
    // A provisioning-v2 twin runs what its provisioning cluster last applied.
    if (typeof cluster.hidden.kubernetesVersion === 'string') return cluster.hidden.kubernetesVersion;
    const rke = cluster.fields.rancherKubernetesEngineConfig;
    return isPlainObject(rke) && typeof rke.kubernetesVersion === 'string' ? rke.kubernetesVersion : '';
  }
}

export interface ComponentStatus {
  name: string;
  conditions: Array<{
    type: 'Healthy';
    status: 'True' | 'False' | 'Unknown';
    message?: string;
    error?: string;
  }>;
}

/**
 * The capacity/allocatable/requested/limits maps for `ready` nodes. They depend on the count only,
 * so they are built once per count and shared: a 1,000-cluster page then allocates none.
 */
const sumsByReadyNodes = new Map<number, Record<string, Record<string, string>>>();

function resourceSums(ready: number): Record<string, Record<string, string>> {
  let sums = sumsByReadyNodes.get(ready);
  if (sums) return sums;
  sums =
    ready === 0
      ? { capacity: {}, allocatable: {}, requested: {}, limits: {} }
      : {
          capacity: {
            cpu: String(ready * NODE_SHARE.cpu),
            memory: `${ready * NODE_SHARE.memoryKi}Ki`,
            pods: String(ready * NODE_SHARE.pods),
          },
          allocatable: {
            cpu: String(ready * NODE_SHARE.cpu),
            memory: `${ready * NODE_SHARE.allocatableKi}Ki`,
            pods: String(ready * NODE_SHARE.pods),
          },
          requested: {
            cpu: `${ready * NODE_REQUESTS.cpuMilli}m`,
            memory: `${ready * NODE_REQUESTS.memoryMi}Mi`,
            pods: String(ready * NODE_REQUESTS.pods),
          },
          limits: {
            cpu: `${ready * NODE_REQUESTS.limitCpuMilli}m`,
            memory: `${ready * NODE_REQUESTS.limitMemoryMi}Mi`,
            pods: '0',
          },
        };
  sumsByReadyNodes.set(ready, sums);
  return sums;
}

function backupConfig(rke: Rke | undefined): Record<string, unknown> | undefined {
  const services = rke?.services;
  if (!isPlainObject(services) || !isPlainObject(services.etcd)) return undefined;
  const config = services.etcd.backupConfig;
  return isPlainObject(config) ? config : undefined;
}

function s3Config(rke: Rke | undefined): Record<string, unknown> | undefined {
  const s3 = backupConfig(rke)?.s3BackupConfig;
  return isPlainObject(s3) ? s3 : undefined;
}

function encryptionEnabled(rke: Rke): boolean {
  const services = rke?.services;
  if (!isPlainObject(services) || !isPlainObject(services.kubeApi)) return false;
  const config = services.kubeApi.secretsEncryptionConfig;
  return isPlainObject(config) && config.enabled === true;
}

/**
 * `rkeworkerupgrader.CalculateMaxUnavailable`: a count, or a percentage of `hosts` rounded down;
 * never less than one.
 */
function maxUnavailable(value: string, hosts: number): number {
  const percent = /^(\d+)%$/.exec(value.trim());
  const n = percent ? Math.floor((hosts * Number(percent[1])) / 100) : Number.parseInt(value, 10);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

function randomOctet(): number {
  return 1 + Math.floor(Math.random() * 254);
}
