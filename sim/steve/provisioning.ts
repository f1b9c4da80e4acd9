/**
 * Provisioning v2 (rancher-api.md §9.3, §11.6; rancher-212.md §3, §5): the
 * `provisioning.cattle.io.clusters` admission webhook and controllers, the management twin
 * `c-m-xxxxxxxx` in `/v3/clusters`, CAPI machines per machine pool, etcd snapshots and restores.
 * Every controller write goes through the store, so `metadata.resourceVersion` moves with it and a
 * client PUT holding an older one gets the 409 a real server answers.
 */
import type { AgentCommand } from '../agents';
import { randomChars, uuid } from '../ids';
import { ApiError, isPlainObject } from '../http';
import type { KubeObject } from '../kube/store';
import { clone } from '../merge';
import { k8sTime } from '../resources/resource-type';
import { setCondition, type Condition, type ConditionStatus } from '../state';
import type { SimObject } from '../store';
import { distroOf, validatesSnapshotRestore } from '../version';
import type { World } from '../world';
import { deleteNow, markDeleting } from './api';
import {
  CLUSTER,
  clusterOf,
  clusterState,
  conditionsOf,
  CONTROL_PLANE,
  createdAtOf,
  cronIntervalHours,
  etcdConfigOf,
  generationOf,
  key,
  MACHINE,
  machineAddresses,
  machineObject,
  pendingMachine,
  machineState,
  marked,
  poolOf,
  poolsOf,
  rawPools,
  restoreOf,
  RESTORE_MESSAGES,
  RESTORE_PHASES,
  safeConcatName,
  SNAPSHOT,
  snapshotObject,
  snapshotObjectName,
  snapshotState,
  specOf,
  stripTimes,
  type Pool,
  type Spec,
} from './objects';
import { admissionDenied, type SteveSchema } from './schema';
import {
  deleteV2Snapshot,
  readBackV2Snapshot,
  s3InsecureOf,
  uploadV2Snapshot,
  v2S3Target,
} from './snapshot-s3';

const WEBHOOK = 'rancher.cattle.io.clusters.provisioning.cattle.io';
const NAME_MESSAGE =
  'cluster name must be 63 characters or fewer, must not begin with a hyphen, cannot be "local" nor of the ' +
  'form "c-xxxxx", and can only contain lowercase alphanumeric characters or \' - \'';
const MGMT_NAME = /^c-[a-z0-9]{5}$/;
const FLEET_NAME = /^[^-][-a-z0-9]+$/;

/** What the controllers remember about one provisioning cluster beyond its object. */
interface Runtime {
  twinId: string;
  /** The MachineSet per pool (`<cluster>-<pool>-<hash>`). */
  machineSets: Map<string, { name: string; uid: string; deployment: string }>;
  /** The Kubernetes version the cluster runs; differs from the spec while an upgrade is on. */
  appliedVersion: string;
  snapshotGeneration: number;
  restoreGeneration: number;
  /** Index into RESTORE_PHASES while a restore runs. */
  restorePhase?: number;
}

export class ProvisioningController {
  private readonly runtimes = new Map<string, Runtime>();
  /** The host name each custom machine's system agent reported, by `namespace/name`. */
  private readonly customHostnames = new Map<string, string>();
  /** Machine uid → creation sequence number. */
  private readonly creationOrder = new Map<string, number>();
  private machinesCreated = 0;

  constructor(private readonly world: World) {}

  schemas(): SteveSchema[] {
    return [
      {
        id: CLUSTER,
        group: 'provisioning.cattle.io',
        version: 'v1',
        kind: 'Cluster',
        resource: 'clusters',
        namespaced: true,
        methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
        admit: (_world, next, current) => this.admit(next, current),
        afterWrite: (_world, stored, previous) =>
          previous ? this.updated(stored, previous) : this.created(stored),
        remove: (_world, current) => this.removeCluster(current),
        state: (_world, object) => clusterState(object),
      },
      {
        id: MACHINE,
        group: 'cluster.x-k8s.io',
        version: 'v1beta1',
        kind: 'Machine',
        resource: 'machines',
        namespaced: true,
        methods: ['PUT', 'PATCH', 'DELETE'],
        afterWrite: (_world, stored) => this.reconcileByName(stored.metadata.namespace!, clusterOf(stored)),
        remove: (_world, current) => this.deleteMachine(current),
        state: (_world, object) => machineState(object),
      },
      {
        id: SNAPSHOT,
        group: 'rke.cattle.io',
        version: 'v1',
        kind: 'ETCDSnapshot',
        resource: 'etcdsnapshots',
        namespaced: true,
        methods: ['DELETE'],
        remove: (world, current) => {
          const marked = markDeleting(world, this.schema(SNAPSHOT), current);
          world.scheduler.ensure(`${key(current)}#snapshot-gone`, world.timings.objectDeleteMs, () =>
            this.drop(SNAPSHOT, marked),
          );
          return marked;
        },
        state: (_world, object) => snapshotState(object),
      },
      {
        id: CONTROL_PLANE,
        group: 'rke.cattle.io',
        version: 'v1',
        kind: 'RKEControlPlane',
        resource: 'rkecontrolplanes',
        namespaced: true,
        methods: [],
      },
    ];
  }

  private schema(id: string): SteveSchema {
    return this.world.steve.get(id);
  }

  // ---- admission -------------------------------------------------------------------------------

  /** The mutating and validating webhooks (§9.3; rancher-212.md §5.4). */
  private admit(next: KubeObject, current: KubeObject | undefined): void {
    const { name, namespace = '' } = next.metadata;
    const spec = specOf(next);
    if (!current) {
      next.metadata.annotations = {
        ...next.metadata.annotations,
        'field.cattle.io/creatorId': this.world.userId,
      };
      const mgmtExists = this.world.clusters.table.has(name);
      const valid =
        name.length <= 63 &&
        FLEET_NAME.test(name) &&
        (name !== 'local' || namespace === 'fleet-local') &&
        (!MGMT_NAME.test(name) || mgmtExists);
      if (!valid) throw admissionDenied(422, 'Invalid', WEBHOOK, NAME_MESSAGE);
      for (const pool of rawPools(spec)) {
        if (typeof pool.name === 'string' && pool.name.length > 63) {
          throw admissionDenied(422, 'Invalid', WEBHOOK, 'pool name must be 63 characters or fewer');
        }
      }
    }
    if (current) {
      // `CheckCreatorID`: an update may drop the annotation but not change it.
      const creator = next.metadata.annotations?.['field.cattle.io/creatorId'];
      if (creator !== undefined && creator !== current.metadata.annotations?.['field.cattle.io/creatorId']) {
        throw admissionDenied(422, 'Invalid', WEBHOOK, 'creatorID annotation cannot be changed');
      }
    }
    const restore = restoreOf(spec);
    const before = current ? restoreOf(specOf(current)) : undefined;
    if (
      restore &&
      restore.generation !== (before?.generation ?? 0) &&
      restore.restoreRKEConfig !== 'none' &&
      validatesSnapshotRestore(this.world.rancher)
    ) {
      if (!this.world.local.get(SNAPSHOT, namespace, restore.name)) {
        throw admissionDenied(
          400,
          'BadRequest',
          WEBHOOK,
          `etcd restore references missing snapshot ${restore.name} in namespace ${namespace}`,
        );
      }
    }
  }

  // ---- cluster lifecycle -----------------------------------------------------------------------

  /** The generating handler: twin, `status.clusterName`, `Created`, owner refs, registration token. */
  /**
   * An already-active cluster for `/__sim/seed`: its machine configs, running machines, twin and
   * status written at once, with no controller step left to run.
   */
  createActive(
    name: string,
    labels: Record<string, string>,
    pools: Array<{ name: string; quantity: number; roles: readonly string[] }>,
    kubernetesVersion: string,
    driver: string,
  ): KubeObject {
    const namespace = 'fleet-default';
    const configSchema = this.world.steve.schemaFor(`rke-machine-config.cattle.io.${driver}config`)!;
    const machinePools = pools.map((pool) => {
      const config = this.world.local.write('ADDED', configSchema.id, {
        apiVersion: 'rke-machine-config.cattle.io/v1',
        kind: configSchema.kind,
        metadata: {
          name: `nc-${name}-${pool.name}-${randomChars(5)}`,
          namespace,
          uid: uuid(),
          resourceVersion: '',
          creationTimestamp: k8sTime(),
          annotations: { 'field.cattle.io/creatorId': this.world.userId },
        },
      });
      return {
        name: pool.name,
        quantity: pool.quantity,
        etcdRole: pool.roles.includes('etcd'),
        controlPlaneRole: pool.roles.includes('controlPlane'),
        workerRole: pool.roles.includes('worker'),
        machineConfigRef: { kind: configSchema.kind, name: config.metadata.name },
      };
    });
    const stored = this.world.local.write('ADDED', CLUSTER, {
      apiVersion: 'provisioning.cattle.io/v1',
      kind: 'Cluster',
      metadata: {
        name,
        namespace,
        uid: uuid(),
        resourceVersion: '',
        creationTimestamp: k8sTime(),
        labels,
        annotations: { 'field.cattle.io/creatorId': this.world.userId },
      },
      spec: { kubernetesVersion, rkeConfig: { machinePools } },
    });
    this.created(stored, true);
    return this.world.local.get(CLUSTER, namespace, name)!;
  }

  private created(stored: KubeObject, active = false): void {
    const spec = specOf(stored);
    const version = typeof spec.kubernetesVersion === 'string' ? spec.kubernetesVersion : '';
    const driver = isPlainObject(spec.rkeConfig) ? distroOf(version) : 'imported';
    const twin = this.world.clusters.createTwin(
      stored.metadata.name,
      driver,
      version,
      stored.metadata.namespace!,
    );
    this.copyToTwin(stored, twin);
    this.runtimes.set(key(stored), {
      twinId: twin.id,
      machineSets: new Map(),
      appliedVersion: version,
      snapshotGeneration: generationOf(spec, 'etcdSnapshotCreate'),
      restoreGeneration: restoreOf(spec)?.generation ?? 0,
    });
    this.adoptMachineConfigs(stored);
    if (isPlainObject(spec.rkeConfig)) this.createControlPlane(stored);
    // Rancher creates the registration token of every provisioning-v2 cluster itself (§5).
    this.world.registrationTokens.create(
      { clusterId: twin.id, name: 'default-token' },
      { baseUrl: this.world.serverUrl },
    );
    if (active) {
      const runtime = this.runtimes.get(key(stored))!;
      for (const pool of poolsOf(stored)) {
        for (let i = 0; i < pool.quantity; i++) this.createMachine(stored, runtime, pool, true);
      }
    }
    this.writeStatus(stored.metadata.namespace!, stored.metadata.name, (status, conditions) => {
      status.clusterName = twin.id;
      status.fleetWorkspaceName = stored.metadata.namespace;
      status.ready = active;
      setCondition(conditions, 'Created', 'True');
      if (active) {
        status.agentDeployed = true;
        status.clientSecretName = `${stored.metadata.name}-kubeconfig`;
        for (const type of ['Provisioned', 'Updated', 'Ready', 'Connected'])
          setCondition(conditions, type, 'True');
      } else if (isPlainObject(spec.rkeConfig)) {
        setCondition(conditions, 'Provisioned', 'Unknown', 'waiting for viable init node', 'Waiting');
        setCondition(conditions, 'Updated', 'Unknown', '', 'Waiting');
        setCondition(conditions, 'Ready', 'Unknown', '', 'Waiting');
      }
    });
    this.armScheduledSnapshots(stored.metadata.namespace!, stored.metadata.name);
    if (active) {
      this.world.clusters.connectTwin(twin, version);
      this.syncTwin(stored.metadata.namespace!, stored.metadata.name);
      return;
    }
    this.reconcileByName(stored.metadata.namespace!, stored.metadata.name);
  }

  /** `/__sim/conditions` changed a machine: let it take its next step, and its cluster too. */
  reconcileMachine(machine: KubeObject): void {
    this.advanceMachine(machine.metadata.namespace!, machine.metadata.name);
    this.reconcileByName(machine.metadata.namespace!, clusterOf(machine));
  }

  /**
   * The pool's MachineHealthCheck (rancher-212.md §3.2), present while `unhealthyNodeTimeout > 0`:
   * a running machine whose node is NotReady or unreachable (CAPI mirrors that as `NodeHealthy`
   * False or Unknown) for longer than the timeout is marked unhealthy and remediated; the
   * remediation of a MachineSet's machine is its deletion, and the MachineSet makes a new one.
   */
  private checkHealth(cluster: KubeObject, machine: KubeObject): void {
    const { namespace = '', name } = machine.metadata;
    if (machine.metadata.deletionTimestamp) return;
    if ((machine.status as Record<string, unknown>).phase !== 'Running') return;
    const pool = poolsOf(cluster).find((p) => p.name === poolOf(machine));
    const timeout = pool?.unhealthyNodeTimeoutMs ?? 0;
    const node = conditionsOf(machine).find((c) => c.type === 'NodeHealthy');
    if (!(timeout > 0) || !node || node.status === 'True') return;
    const since = Date.parse(node.lastTransitionTime ?? '') || Date.now();
    this.world.scheduler.ensure(
      `${namespace}/${name}#health-check`,
      Math.max(0, since + timeout - Date.now()),
      () => {
        const latest = this.world.local.get(MACHINE, namespace, name);
        const owner = this.world.local.get(CLUSTER, namespace, clusterOf(machine));
        if (!latest || !owner || latest.metadata.deletionTimestamp) return;
        const limit = poolsOf(owner).find((p) => p.name === poolOf(latest))?.unhealthyNodeTimeoutMs ?? 0;
        const now = conditionsOf(latest).find((c) => c.type === 'NodeHealthy');
        if (!(limit > 0) || !now || now.status === 'True') return;
        // The timeout may have grown meanwhile: look again when the longer wait is over.
        if ((Date.parse(now.lastTransitionTime ?? '') || 0) + limit > Date.now()) {
          this.checkHealth(owner, latest);
          return;
        }
        const next = clone(latest);
        const conditions = (next.status as Record<string, unknown>).conditions as Condition[];
        setCondition(
          conditions,
          'HealthCheckSucceeded',
          'False',
          `Condition Ready on node is reporting status ${now.status}`,
          'UnhealthyNode',
        );
        setCondition(conditions, 'OwnerRemediated', 'False', '', 'WaitingForRemediation');
        this.deleteMachine(this.world.local.write('MODIFIED', MACHINE, next));
      },
    );
  }

  private updated(stored: KubeObject, previous: KubeObject): void {
    if (stored.metadata.deletionTimestamp) return;
    this.adoptMachineConfigs(stored);
    const runtime = this.runtimes.get(key(stored));
    if (!runtime) return;
    const spec = specOf(stored);
    const snapshotGeneration = generationOf(spec, 'etcdSnapshotCreate');
    if (snapshotGeneration !== runtime.snapshotGeneration) {
      runtime.snapshotGeneration = snapshotGeneration;
      if (snapshotGeneration > 0) this.scheduleSnapshot(stored, snapshotGeneration);
    }
    const restore = restoreOf(spec);
    if (restore && restore.generation !== runtime.restoreGeneration) {
      runtime.restoreGeneration = restore.generation;
      if (restore.generation > 0 && restore.name !== '') this.startRestore(stored);
    }
    if (JSON.stringify(specOf(previous)) !== JSON.stringify(spec)) {
      this.armScheduledSnapshots(stored.metadata.namespace!, stored.metadata.name);
      this.reconcileByName(stored.metadata.namespace!, stored.metadata.name);
    }
  }

  /** DELETE: `removing` at once; machines go, then the object, then the twin (§9.3, §8.3). */
  private removeCluster(current: KubeObject): KubeObject {
    const marked = markDeleting(this.world, this.schema(CLUSTER), current);
    const { namespace = '', name } = marked.metadata;
    for (const machine of this.machinesOf(namespace, name)) this.deleteMachine(machine);
    this.world.scheduler.ensure(`${key(marked)}#delete`, this.world.timings.clusterDeleteMs, () => {
      const latest = this.world.local.get(CLUSTER, namespace, name);
      if (!latest) return;
      for (const machine of this.machinesOf(namespace, name)) this.drop(MACHINE, machine);
      for (const snapshot of this.world.local.list(SNAPSHOT, namespace)) {
        if (snapshot.metadata.labels?.['rke.cattle.io/cluster-name'] === name) this.drop(SNAPSHOT, snapshot);
      }
      const controlPlane = this.world.local.get(CONTROL_PLANE, namespace, name);
      if (controlPlane) this.drop(CONTROL_PLANE, controlPlane);
      // Garbage collection of the machine configs this cluster owns.
      for (const schemaId of this.machineConfigSchemas()) {
        for (const config of this.world.local.list(schemaId, namespace)) {
          const owners = (config.metadata as unknown as Record<string, unknown>).ownerReferences;
          if (Array.isArray(owners) && owners.some((owner) => owner.uid === latest.metadata.uid)) {
            this.drop(schemaId, config);
          }
        }
      }
      this.drop(CLUSTER, latest);
      const runtime = this.runtimes.get(key(latest));
      this.runtimes.delete(key(latest));
      const twin = runtime ? this.world.clusters.table.get(runtime.twinId) : undefined;
      if (twin) this.world.clusters.remove(twin);
    });
    return marked;
  }

  /** A provisioning cluster whose spec references cloud credential `id` (`cattle-global-data:cc-xxxxx`). */
  clusterUsingCredential(id: string): string | undefined {
    const bare = id.slice(id.indexOf(':') + 1);
    for (const cluster of this.world.local.list(CLUSTER)) {
      const spec = specOf(cluster);
      const rke = isPlainObject(spec.rkeConfig) ? spec.rkeConfig : {};
      const etcd = isPlainObject(rke.etcd) ? rke.etcd : {};
      const s3 = isPlainObject(etcd.s3) ? etcd.s3 : {};
      const names = [
        spec.cloudCredentialSecretName,
        s3.cloudCredentialName,
        ...rawPools(spec).map((pool) => pool.cloudCredentialSecretName),
      ];
      if (names.some((name) => name === id || name === bare)) return cluster.metadata.name;
    }
    return undefined;
  }

  /** The twin of a provisioning cluster, for seeding and the kube API's nodes. */
  twinOf(namespace: string, name: string): SimObject | undefined {
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    return runtime ? this.world.clusters.table.get(runtime.twinId) : undefined;
  }

  /** The provisioning cluster behind a twin, if it has one. */
  clusterOfTwin(twinId: string): KubeObject | undefined {
    for (const [id, runtime] of this.runtimes) {
      if (runtime.twinId !== twinId) continue;
      const [namespace, name] = id.split('/');
      return this.world.local.get(CLUSTER, namespace, name);
    }
    return undefined;
  }

  /** Lets the controllers take their next step after `/__sim/conditions` changed something. */
  reconcileByName(namespace: string, name: string): void {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    const spec = specOf(cluster);
    if (!isPlainObject(spec.rkeConfig)) return;
    if (!this.poolsMatch(cluster)) {
      this.world.scheduler.ensure(`${key(cluster)}#pools`, this.world.timings.poolReconcileMs, () =>
        this.syncPools(namespace, name),
      );
    }
    for (const machine of this.machinesOf(namespace, name)) this.checkHealth(cluster, machine);
    this.evaluate(namespace, name);
    this.syncTwin(namespace, name);
  }

  /** True when every pool has exactly `quantity` live machines and no other machine lives. */
  private poolsMatch(cluster: KubeObject): boolean {
    const pools = poolsOf(cluster);
    const live = this.machinesOf(cluster.metadata.namespace!, cluster.metadata.name).filter(
      (machine) => !machine.metadata.deletionTimestamp && !isCustom(machine),
    );
    const count = new Map<string, number>();
    for (const machine of live) {
      const pool = poolOf(machine);
      if (!pools.some((p) => p.name === pool)) return false;
      count.set(pool, (count.get(pool) ?? 0) + 1);
    }
    return pools.every((pool) => (count.get(pool.name) ?? 0) === pool.quantity);
  }

  /** The MachineSets' work: create missing machines, delete surplus ones (oldest first, §3.3). */
  private syncPools(namespace: string, name: string): void {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    if (!cluster || !runtime || cluster.metadata.deletionTimestamp) return;
    const pools = poolsOf(cluster);
    // Custom machines (registered by a system agent) belong to no MachineSet: no pool owns them.
    const machines = this.machinesOf(namespace, name).filter(
      (machine) => !machine.metadata.deletionTimestamp && !isCustom(machine),
    );
    for (const machine of machines) {
      if (!pools.some((pool) => pool.name === poolOf(machine))) this.deleteMachine(machine);
    }
    for (const pool of pools) {
      const members = machines.filter((machine) => poolOf(machine) === pool.name);
      for (let i = members.length; i < pool.quantity; i++) this.createMachine(cluster, runtime, pool);
      if (members.length > pool.quantity) {
        // The `delete-machine` annotation gives priority; otherwise the DeletePolicy is Oldest.
        // Timestamps have second precision; ties go by creation order, so "oldest" is exact.
        const ordered = members.sort(
          (a, b) =>
            Number(marked(b)) - Number(marked(a)) ||
            a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) ||
            (this.creationOrder.get(a.metadata.uid) ?? 0) - (this.creationOrder.get(b.metadata.uid) ?? 0),
        );
        for (const machine of ordered.slice(0, members.length - pool.quantity)) this.deleteMachine(machine);
      }
    }
    this.evaluate(namespace, name);
  }

  private createMachine(cluster: KubeObject, runtime: Runtime, pool: Pool, running = false): void {
    const namespace = cluster.metadata.namespace ?? '';
    let machineSet = runtime.machineSets.get(pool.name);
    if (!machineSet) {
      const deployment = safeConcatName(cluster.metadata.name, pool.name);
      machineSet = { name: `${deployment}-${randomChars(10)}`, uid: uuid(), deployment };
      runtime.machineSets.set(pool.name, machineSet);
    }
    let name = '';
    do name = `${machineSet.name}-${randomChars(5)}`;
    while (this.world.local.get(MACHINE, namespace, name));
    const machine = machineObject({
      cluster,
      pool,
      name,
      machineSet,
      running,
      kubernetesVersion: runtime.appliedVersion,
      distro: distroOf(runtime.appliedVersion),
    });
    this.creationOrder.set(machine.metadata.uid, ++this.machinesCreated);
    const stored = this.world.local.write('ADDED', MACHINE, machine);
    if (!running) this.advanceMachine(stored.metadata.namespace!, stored.metadata.name);
  }

  /** Pending → Provisioning → Provisioned → Running, one timing each (`poolReconcileMs`, node timings). */
  private advanceMachine(namespace: string, name: string): void {
    const machine = this.world.local.get(MACHINE, namespace, name);
    if (!machine || machine.metadata.deletionTimestamp) return;
    const status = machine.status as Record<string, unknown>;
    const conditions = status.conditions as Condition[];
    if (conditions.some((c) => c.status === 'False')) return;
    const { timings } = this.world;
    const step = (
      delay: number,
      apply: (status: Record<string, unknown>, conditions: Condition[], next: KubeObject) => void,
    ) =>
      this.world.scheduler.ensure(`${namespace}/${name}#machine`, delay, () => {
        const latest = this.world.local.get(MACHINE, namespace, name);
        if (!latest || latest.metadata.deletionTimestamp) return;
        const next = clone(latest);
        const nextStatus = next.status as Record<string, unknown>;
        if ((nextStatus.conditions as Condition[]).some((c) => c.status === 'False')) return;
        apply(nextStatus, nextStatus.conditions as Condition[], next);
        this.world.local.write('MODIFIED', MACHINE, next);
        this.advanceMachine(namespace, name);
        this.evaluate(namespace, clusterOf(next));
      });
    switch (status.phase) {
      case 'Pending':
        return step(timings.poolReconcileMs, (s, c) => {
          s.phase = 'Provisioning';
          s.bootstrapReady = true;
          setCondition(c, 'BootstrapReady', 'True');
          setCondition(c, 'InfrastructureReady', 'Unknown', 'creating server', 'Creating');
        });
      case 'Provisioning':
        return step(timings.nodeProvisionMs, (s, c) => {
          s.phase = 'Provisioned';
          s.infrastructureReady = true;
          s.addresses = machineAddresses(name);
          setCondition(c, 'InfrastructureReady', 'True');
        });
      case 'Provisioned':
        return step(timings.nodeRegisterMs, (s, c, next) => {
          const distro = this.distroOfCluster(namespace, clusterOf(machine));
          s.phase = 'Running';
          // A custom machine's node is named after its host, a pool machine's after the machine.
          const nodeName = this.customHostnames.get(`${namespace}/${name}`) ?? name;
          s.nodeRef = { apiVersion: 'v1', kind: 'Node', name: nodeName };
          (next.spec as Record<string, unknown>).providerID = `${distro}://${name}`;
          s.nodeInfo = {
            kubeletVersion: this.appliedVersion(namespace, clusterOf(machine)),
            operatingSystem: 'linux',
            architecture: 'amd64',
          };
          setCondition(c, 'NodeHealthy', 'True');
          setCondition(c, 'Ready', 'True');
        });
    }
  }

  /**
   * A custom machine, as Rancher makes one when a system agent registers with the cluster's token
   * (§5, `/__sim/agents`): a CAPI machine with a `CustomMachine` infrastructure and no MachineSet,
   * the roles as labels and the agent's `--label`s and `--taints` in the annotations the planner
   * reads. It then goes Pending → Running like any machine; deleting it removes the node for good.
   */
  registerCustomMachine(cluster: KubeObject, hostname: string, agent: AgentCommand): KubeObject {
    const namespace = cluster.metadata.namespace ?? '';
    const clusterName = cluster.metadata.name;
    const taken = this.machinesOf(namespace, clusterName).some((m) => {
      if (m.metadata.deletionTimestamp) return false;
      const nodeRef = (m.status as { nodeRef?: { name?: string } } | undefined)?.nodeRef;
      return this.customHostnames.get(key(m)) === hostname || nodeRef?.name === hostname;
    });
    if (taken) throw new ApiError(409, 'AlreadyExists', `a node named ${hostname} is already registered`);
    let name = '';
    do name = `custom-${randomHex(12)}`;
    while (this.world.local.get(MACHINE, namespace, name));
    const labels: Record<string, string> = {
      'cluster.x-k8s.io/cluster-name': clusterName,
      'rke.cattle.io/cluster-name': clusterName,
    };
    if (agent.roles.etcd) labels['rke.cattle.io/etcd-role'] = 'true';
    if (agent.roles.controlPlane) labels['rke.cattle.io/control-plane-role'] = 'true';
    if (agent.roles.worker) labels['rke.cattle.io/worker-role'] = 'true';
    const machine = pendingMachine(namespace, name, clusterName, labels, {
      apiVersion: 'rke.cattle.io/v1',
      kind: 'CustomMachine',
    });
    machine.metadata.annotations = {
      'rke.cattle.io/labels': JSON.stringify(agent.labels),
      'rke.cattle.io/taints': JSON.stringify(agent.taints),
    };
    this.customHostnames.set(`${namespace}/${name}`, hostname);
    this.creationOrder.set(machine.metadata.uid, ++this.machinesCreated);
    const stored = this.world.local.write('ADDED', MACHINE, machine);
    this.advanceMachine(namespace, name);
    this.evaluate(namespace, clusterName);
    return stored;
  }

  /** A machine deletion: `removing` now, gone after `nodeDeleteMs`; the MachineSet then replaces it. */
  deleteMachine(current: KubeObject): KubeObject {
    const marked = markDeleting(this.world, this.schema(MACHINE), current);
    if (marked !== current) {
      const next = clone(marked);
      (next.status as Record<string, unknown>).phase = 'Deleting';
      const stored = this.world.local.write('MODIFIED', MACHINE, next);
      this.world.scheduler.ensure(`${key(stored)}#gone`, this.world.timings.nodeDeleteMs, () => {
        const latest = this.world.local.get(MACHINE, stored.metadata.namespace, stored.metadata.name);
        if (latest) this.drop(MACHINE, latest);
        this.reconcileByName(stored.metadata.namespace!, clusterOf(stored));
      });
      this.reconcileByName(stored.metadata.namespace!, clusterOf(stored));
      return stored;
    }
    return marked;
  }

  /**
   * The cluster's conditions from its machines (the RKEControlPlane's, copied, §9.3):
   * `Provisioned` once machines cover etcd, control plane and worker; `Ready` after the agent
   * connects; `Updated` whenever pools, version and restores have settled.
   */
  private evaluate(namespace: string, name: string): void {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    if (!cluster || !runtime || cluster.metadata.deletionTimestamp) return;
    if (!isPlainObject(specOf(cluster).rkeConfig)) return;
    const { scheduler, timings } = this.world;
    const conditions = conditionsOf(cluster);
    const status = (type: string) => conditions.find((c) => c.type === type)?.status;
    const settled = this.settled(cluster, runtime);

    if (status('Provisioned') === 'Unknown') {
      if (!settled || !this.rolesCovered(cluster)) {
        const message =
          poolsOf(cluster).length === 0
            ? 'waiting for viable init node'
            : 'waiting for all machines to be provisioned';
        this.writeStatus(namespace, name, (_s, c) =>
          setCondition(c, 'Provisioned', 'Unknown', message, 'Waiting'),
        );
        return;
      }
      scheduler.ensure(`${key(cluster)}#provision`, timings.clusterProvisionMs, () => {
        if (this.conditionOf(namespace, name, 'Provisioned') !== 'Unknown') return;
        this.writeStatus(namespace, name, (_s, c) => {
          setCondition(c, 'Provisioned', 'True');
          setCondition(c, 'Ready', 'Unknown', 'waiting for cluster agent to connect', 'Waiting');
        });
        this.syncTwin(namespace, name);
        this.evaluate(namespace, name);
      });
      return;
    }
    if (status('Provisioned') !== 'True') return;
    if (status('Ready') === 'Unknown' && runtime.restorePhase === undefined) {
      scheduler.ensure(`${key(cluster)}#connect`, timings.clusterConnectMs, () => {
        if (this.conditionOf(namespace, name, 'Ready') !== 'Unknown') return;
        const latest = this.world.local.get(CLUSTER, namespace, name);
        const upToDate =
          latest !== undefined &&
          this.settled(latest, runtime) &&
          String(specOf(latest).kubernetesVersion ?? '') === runtime.appliedVersion;
        this.writeStatus(namespace, name, (s, c) => {
          setCondition(c, 'Ready', 'True');
          if (upToDate) setCondition(c, 'Updated', 'True');
          s.ready = true;
          s.agentDeployed = true;
          s.clientSecretName = `${name}-kubeconfig`;
          setCondition(c, 'Connected', 'True');
        });
        this.world.clusters.connectTwin(this.twin(runtime), runtime.appliedVersion);
        this.syncTwin(namespace, name);
        this.evaluate(namespace, name);
      });
      return;
    }
    if (status('Updated') === 'False' || status('Ready') === 'False') return;
    const versionPending = String(specOf(cluster).kubernetesVersion ?? '') !== runtime.appliedVersion;
    if (!settled || versionPending || status('Updated') === 'Unknown') {
      if (status('Updated') !== 'Unknown') {
        const message = versionPending ? 'upgrading Kubernetes version' : 'reconciling machine pools';
        this.writeStatus(namespace, name, (_s, c) =>
          setCondition(c, 'Updated', 'Unknown', message, 'Waiting'),
        );
        this.syncTwin(namespace, name);
      }
      if (!settled) return;
      scheduler.ensure(`${key(cluster)}#update`, timings.clusterUpdateMs, () => {
        const latest = this.world.local.get(CLUSTER, namespace, name);
        if (!latest || latest.metadata.deletionTimestamp) return;
        if (!this.settled(latest, runtime) || this.conditionOf(namespace, name, 'Updated') !== 'Unknown') {
          this.evaluate(namespace, name);
          return;
        }
        runtime.appliedVersion = String(specOf(latest).kubernetesVersion ?? '');
        this.writeStatus(namespace, name, (_s, c) => setCondition(c, 'Updated', 'True'));
        this.world.clusters.connectTwin(this.twin(runtime), runtime.appliedVersion);
        this.syncTwin(namespace, name);
        // A change that landed during the step starts the next one.
        this.evaluate(namespace, name);
      });
    }
  }

  /** Pools at quantity with every machine running, and no restore under way. */
  private settled(cluster: KubeObject, runtime: Runtime): boolean {
    if (runtime.restorePhase !== undefined) return false;
    if (!this.poolsMatch(cluster)) return false;
    const machines = this.machinesOf(cluster.metadata.namespace!, cluster.metadata.name);
    if (
      machines.some(
        (m) => m.metadata.deletionTimestamp || (m.status as Record<string, unknown>).phase !== 'Running',
      )
    ) {
      return false;
    }
    return true;
  }

  private rolesCovered(cluster: KubeObject): boolean {
    const running = this.machinesOf(cluster.metadata.namespace!, cluster.metadata.name).filter(
      (m) => (m.status as Record<string, unknown>).phase === 'Running' && !m.metadata.deletionTimestamp,
    );
    const has = (label: string) => running.some((m) => m.metadata.labels?.[label] === 'true');
    return (
      has('rke.cattle.io/etcd-role') &&
      has('rke.cattle.io/control-plane-role') &&
      has('rke.cattle.io/worker-role')
    );
  }

  private conditionOf(namespace: string, name: string, type: string): ConditionStatus | undefined {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    return cluster ? conditionsOf(cluster).find((c) => c.type === type)?.status : undefined;
  }

  /** A controller status write; skipped when nothing changes, so resourceVersion moves only on change. */
  private writeStatus(
    namespace: string,
    name: string,
    change: (status: Record<string, unknown>, conditions: Condition[]) => void,
  ): void {
    const current = this.world.local.get(CLUSTER, namespace, name);
    if (!current) return;
    const next = clone(current);
    const status = (next.status = isPlainObject(next.status) ? next.status : {}) as Record<string, unknown>;
    const conditions = (status.conditions = Array.isArray(status.conditions)
      ? status.conditions
      : []) as Condition[];
    const before = JSON.stringify(stripTimes(status));
    change(status, conditions);
    status.observedGeneration = (next.metadata as unknown as Record<string, unknown>).generation ?? 1;
    if (JSON.stringify(stripTimes(status)) === before) return;
    this.world.local.write('MODIFIED', CLUSTER, next);
  }

  /** The `/v3` twin shows the same phase (`provisioning`, `updating`, `active`). */
  private syncTwin(namespace: string, name: string): void {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    const twin = runtime && this.world.clusters.table.get(runtime.twinId);
    if (!cluster || !twin) return;
    this.copyToTwin(cluster, twin);
    const conditions = conditionsOf(cluster);
    const get = (type: string) => conditions.find((c) => c.type === type);
    const provisioned = get('Provisioned');
    const ready = get('Ready');
    const updated = get('Updated');
    if (provisioned) setCondition(twin.conditions, 'Provisioned', provisioned.status, provisioned.message);
    if (provisioned?.status === 'True') {
      setCondition(
        twin.conditions,
        'Waiting',
        ready?.status === 'True' ? 'True' : 'Unknown',
        ready?.status === 'True' ? '' : ready?.message,
      );
    }
    if (ready?.status === 'True') {
      setCondition(twin.conditions, 'Ready', 'True');
      setCondition(twin.conditions, 'Connected', 'True');
    }
    if (updated && provisioned?.status === 'True' && ready?.status === 'True') {
      setCondition(twin.conditions, 'Updated', updated.status, updated.message);
    }
  }

  /**
   * The twin is generated from the provisioning cluster on every reconcile: it carries the
   * cluster's labels and annotations, plus `provisioning.cattle.io/administrated: "true"` for a
   * cluster Rancher provisions (rancher/rancher `provisioningv2/cluster/controller.go`
   * `createNewCluster`), which is how a `/v3/clusters` reader tells a twin from an RKE1 cluster.
   */
  private copyToTwin(cluster: KubeObject, twin: SimObject): void {
    const provider = twin.labels['provider.cattle.io'];
    twin.labels = {
      ...(cluster.metadata.labels ?? {}),
      ...(provider ? { 'provider.cattle.io': provider } : {}),
    };
    twin.annotations = {
      ...twin.annotations,
      ...(cluster.metadata.annotations ?? {}),
      'provisioning.cattle.io/administrated': String(isPlainObject(specOf(cluster).rkeConfig)),
    };
  }

  private twin(runtime: Runtime): SimObject {
    return this.world.clusters.table.get(runtime.twinId)!;
  }

  private appliedVersion(namespace: string, name: string): string {
    return this.runtimes.get(`${namespace}/${name}`)?.appliedVersion ?? '';
  }

  private distroOfCluster(namespace: string, name: string): string {
    return distroOf(this.appliedVersion(namespace, name));
  }

  machinesOf(namespace: string, clusterName: string): KubeObject[] {
    return this.world.local
      .list(MACHINE, namespace)
      .filter((machine) => machine.metadata.labels?.['cluster.x-k8s.io/cluster-name'] === clusterName);
  }

  /** Machine configs a pool names get the cluster as owner, so they go when it goes. */
  private adoptMachineConfigs(cluster: KubeObject): void {
    const namespace = cluster.metadata.namespace!;
    for (const pool of rawPools(specOf(cluster))) {
      const ref = isPlainObject(pool.machineConfigRef) ? pool.machineConfigRef : undefined;
      if (!ref || typeof ref.kind !== 'string' || typeof ref.name !== 'string') continue;
      const schema = this.world.steve.schemaFor(`rke-machine-config.cattle.io.${ref.kind.toLowerCase()}`);
      const config = schema && this.world.local.get(schema.id, namespace, ref.name);
      if (!schema || !config) continue;
      const meta = config.metadata as unknown as Record<string, unknown>;
      const owners = Array.isArray(meta.ownerReferences)
        ? (meta.ownerReferences as Array<Record<string, unknown>>)
        : [];
      if (owners.some((owner) => owner.uid === cluster.metadata.uid)) continue;
      const next = clone(config);
      (next.metadata as unknown as Record<string, unknown>).ownerReferences = [
        ...owners,
        {
          apiVersion: 'provisioning.cattle.io/v1',
          kind: 'Cluster',
          name: cluster.metadata.name,
          uid: cluster.metadata.uid,
        },
      ];
      this.world.local.write('MODIFIED', schema.id, next);
    }
  }

  private machineConfigSchemas(): string[] {
    const ids = new Set<string>();
    for (const id of this.world.local.resources())
      if (id.startsWith('rke-machine-config.cattle.io.')) ids.add(id);
    return [...ids];
  }

  private createControlPlane(cluster: KubeObject): void {
    const { namespace, name } = cluster.metadata;
    this.world.local.write('ADDED', CONTROL_PLANE, {
      apiVersion: 'rke.cattle.io/v1',
      kind: 'RKEControlPlane',
      metadata: {
        name,
        namespace,
        uid: uuid(),
        resourceVersion: '',
        creationTimestamp: k8sTime(),
        labels: {},
        annotations: {},
      },
      spec: { clusterName: name },
      status: { etcdSnapshotRestorePhase: '', initialized: false, ready: false },
    });
  }

  // ---- etcd snapshots --------------------------------------------------------------------------

  /**
   * A `etcdSnapshotCreate.generation` bump: after `etcdBackupMs`, an on-demand snapshot
   * (`rke2 etcd-snapshot save`, whose snapshots are named `on-demand-<node>-<unix time>`).
   */
  private scheduleSnapshot(cluster: KubeObject, generation: number): void {
    this.world.scheduler.ensure(
      `${key(cluster)}#snapshot-${generation}`,
      this.world.timings.etcdBackupMs,
      () => this.takeSnapshot(cluster.metadata.namespace ?? '', cluster.metadata.name, 'on-demand'),
    );
  }

  /**
   * Scheduled snapshots: RKE2's `etcd-snapshot-schedule-cron` (from `rkeConfig.etcd.snapshotScheduleCron`,
   * default every 12 hours) fires on each etcd node, names them `etcd-snapshot-<node>-<unix time>`
   * and then prunes the scheduled ones beyond `snapshotRetention` (default 5). One simulated hour is
   * `backupHourMs`. The cron is read again at each firing, so a schedule change takes effect after
   * the pending one. A cluster without `rkeConfig.etcd` takes none here, although RKE2's defaults
   * would take local ones: only S3 copies reach Paddock, and local-only snapshots every simulated
   * 12 hours would be noise in every other test.
   */
  private armScheduledSnapshots(namespace: string, name: string): void {
    const cluster = this.world.local.get(CLUSTER, namespace, name);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    const etcd = etcdConfigOf(cluster);
    if (!etcd || etcd.disableSnapshots === true) return;
    const hours = cronIntervalHours(etcd.snapshotScheduleCron);
    this.world.scheduler.ensure(
      `${namespace}/${name}#scheduled-snapshot`,
      hours * this.world.timings.backupHourMs,
      () => {
        const latest = this.world.local.get(CLUSTER, namespace, name);
        if (!latest || latest.metadata.deletionTimestamp) return;
        const now = etcdConfigOf(latest);
        if (now && now.disableSnapshots !== true) this.takeSnapshot(namespace, name, 'etcd-snapshot');
        this.armScheduledSnapshots(namespace, name);
      },
    );
  }

  /**
   * One snapshot of the cluster's etcd: a local one per running etcd machine and one S3 copy when
   * `rkeConfig.etcd.s3` is set (rancher-212.md §5.3). Scheduled ones are then pruned by retention;
   * on-demand ones are never pruned (k3s docs, "etcd-snapshot").
   */
  private takeSnapshot(namespace: string, name: string, base: 'on-demand' | 'etcd-snapshot'): void {
    const latest = this.world.local.get(CLUSTER, namespace, name);
    if (!latest || latest.metadata.deletionTimestamp) return;
    const etcd = this.machinesOf(namespace, name).filter(
      (m) =>
        m.metadata.labels?.['rke.cattle.io/etcd-role'] === 'true' &&
        (m.status as Record<string, unknown>).phase === 'Running',
    );
    if (etcd.length === 0) return;
    const rke = specOf(latest).rkeConfig as Spec;
    const etcdConfig = etcdConfigOf(latest) ?? {};
    const s3 = isPlainObject(etcdConfig.s3) ? etcdConfig.s3 : undefined;
    // RKE2 names snapshots by the second; two in one second would collide, so take the next free one.
    let timestamp = Math.floor(Date.now() / 1000);
    const taken = (ts: number) =>
      etcd.some((m) =>
        this.world.local.get(
          SNAPSHOT,
          namespace,
          snapshotObjectName(name, `${base}-${m.metadata.name}-${ts}`, 'local'),
        ),
      );
    while (taken(timestamp)) timestamp++;
    const version = this.appliedVersion(namespace, name);
    const metadata = Buffer.from(JSON.stringify({ kubernetesVersion: version, rkeConfig: rke })).toString(
      'base64',
    );
    for (const machine of etcd) {
      this.writeSnapshot(latest, machine, `${base}-${machine.metadata.name}-${timestamp}`, 'local', metadata);
    }
    const retention =
      typeof etcdConfig.snapshotRetention === 'number' && etcdConfig.snapshotRetention > 0
        ? etcdConfig.snapshotRetention
        : 5;
    const prune = () => {
      if (base === 'etcd-snapshot') void this.pruneScheduled(namespace, name, retention);
    };
    if (s3)
      void this.writeS3Snapshot(
        latest,
        etcd[0],
        `${base}-${etcd[0].metadata.name}-${timestamp}`,
        metadata,
        s3,
      ).then(prune);
    else prune();
  }

  /**
   * Retention of scheduled snapshots: per node for local ones and across the bucket for S3 ones,
   * the oldest beyond `retention` go, their S3 objects with them. On-demand snapshots stay.
   */
  private async pruneScheduled(namespace: string, name: string, retention: number): Promise<void> {
    const groups = new Map<string, KubeObject[]>();
    for (const snapshot of this.world.local.list(SNAPSHOT, namespace)) {
      if (snapshot.metadata.labels?.['rke.cattle.io/cluster-name'] !== name) continue;
      if (snapshot.metadata.deletionTimestamp) continue;
      const file = isPlainObject(snapshot.snapshotFile) ? snapshot.snapshotFile : {};
      if (!String(file.name ?? '').startsWith('etcd-snapshot-')) continue;
      const group = String(file.nodeName ?? '');
      groups.set(group, [...(groups.get(group) ?? []), snapshot]);
    }
    for (const snapshots of groups.values()) {
      snapshots.sort(
        (a, b) =>
          createdAtOf(b).localeCompare(createdAtOf(a)) || b.metadata.name.localeCompare(a.metadata.name),
      );
      for (const old of snapshots.slice(retention)) {
        const file = old.snapshotFile as Record<string, unknown>;
        if (isPlainObject(file.s3) && file.status === 'successful') {
          const source = this.s3SourceOf(namespace, name, old.metadata.name);
          if (source && !('error' in source.target)) await deleteV2Snapshot(source.target, source.file);
        }
        this.drop(SNAPSHOT, old);
      }
    }
  }

  /** The S3 copy: uploaded into the bucket first; the object records whether that worked. */
  private async writeS3Snapshot(
    cluster: KubeObject,
    machine: KubeObject,
    snapshotName: string,
    metadata: string,
    s3: Record<string, unknown>,
  ): Promise<void> {
    const rke = specOf(cluster).rkeConfig;
    const target = v2S3Target(this.world, s3, isPlainObject(rke) && s3InsecureOf(rke));
    const outcome = 'error' in target ? target : await uploadV2Snapshot(target, snapshotName, metadata);
    const { namespace = '', name } = cluster.metadata;
    const latest = this.world.local.get(CLUSTER, namespace, name);
    if (!latest || latest.metadata.deletionTimestamp) return;
    this.writeSnapshot(latest, machine, snapshotName, 's3', metadata, s3, outcome);
  }

  private writeSnapshot(
    cluster: KubeObject,
    machine: KubeObject,
    snapshotName: string,
    storage: 'local' | 's3',
    metadata: string,
    s3?: Record<string, unknown>,
    upload?: { size: number } | { error: string },
  ): void {
    const distro = this.distroOfCluster(cluster.metadata.namespace ?? '', cluster.metadata.name);
    const object = snapshotObject({ cluster, machine, snapshotName, storage, metadata, distro, s3 });
    const file = object.snapshotFile as Record<string, unknown>;
    if (upload && 'error' in upload)
      Object.assign(file, { status: 'failed', message: upload.error, size: 0 });
    else if (upload) file.size = upload.size;
    this.world.local.write('ADDED', SNAPSHOT, object);
  }

  /**
   * `etcdSnapshotRestore` with a new generation: the control plane walks the restore phases, one
   * step each `clusterUpdateMs / 8`; `Ready` reads Unknown with the phase's message meanwhile.
   */
  private startRestore(cluster: KubeObject): void {
    const { namespace = '', name } = cluster.metadata;
    const runtime = this.runtimes.get(key(cluster));
    if (!runtime) return;
    runtime.restorePhase = 0;
    const restore = restoreOf(specOf(cluster))!;
    let readBack = false;
    const step = () => {
      const phase = RESTORE_PHASES[runtime.restorePhase ?? 0];
      if (phase === 'Restore' && !readBack) {
        // The etcd restore on the init node downloads an S3 snapshot first; a missing object or
        // wrong keys stop the restore there.
        readBack = true;
        const source = this.s3SourceOf(namespace, name, restore.name);
        if (source) {
          void (async () => {
            const failure =
              'error' in source.target
                ? source.target.error
                : await readBackV2Snapshot(source.target, source.file);
            if (failure === null) step();
            else this.failRestore(namespace, name, restore, failure);
          })();
          return;
        }
      }
      const controlPlane = this.world.local.get(CONTROL_PLANE, namespace, name);
      if (controlPlane) {
        const next = clone(controlPlane);
        const status = next.status as Record<string, unknown>;
        status.etcdSnapshotRestorePhase = phase;
        status.etcdSnapshotRestore = clone(restore);
        if (phase === 'Started') {
          status.initialized = false;
          status.ready = false;
        }
        if (phase === 'Finished') {
          status.initialized = true;
          status.ready = true;
        }
        this.world.local.write('MODIFIED', CONTROL_PLANE, next);
      }
      if (phase === 'Finished') {
        runtime.restorePhase = undefined;
        this.finishRestore(namespace, name, restore);
        return;
      }
      this.writeStatus(namespace, name, (_s, c) => {
        setCondition(c, 'Ready', 'Unknown', RESTORE_MESSAGES[phase], 'Waiting');
        setCondition(c, 'Updated', 'Unknown', RESTORE_MESSAGES[phase], 'Waiting');
      });
      this.syncTwin(namespace, name);
      runtime.restorePhase = (runtime.restorePhase ?? 0) + 1;
      this.world.scheduler.ensure(
        `${namespace}/${name}#restore`,
        Math.ceil(this.world.timings.clusterUpdateMs / 8),
        step,
      );
    };
    step();
  }

  /** Where an S3 snapshot lives, with the keys the cluster's credential holds now. */
  private s3SourceOf(namespace: string, cluster: string, snapshot: string) {
    const object = this.world.local.get(SNAPSHOT, namespace, snapshot);
    const file = isPlainObject(object?.snapshotFile) ? object.snapshotFile : undefined;
    if (!file || !isPlainObject(file.s3)) return undefined;
    const current = this.world.local.get(CLUSTER, namespace, cluster);
    const rke =
      current && isPlainObject(specOf(current).rkeConfig) ? (specOf(current).rkeConfig as Spec) : {};
    const etcd = isPlainObject(rke.etcd) ? rke.etcd : {};
    const s3 = isPlainObject(etcd.s3) ? etcd.s3 : {};
    return {
      file: String(file.name ?? ''),
      target: v2S3Target(
        this.world,
        { ...file.s3, cloudCredentialName: s3.cloudCredentialName },
        s3InsecureOf(rke),
      ),
    };
  }

  /** The restore stops: the control plane reads `Failed` and the cluster carries the reason. */
  private failRestore(
    namespace: string,
    name: string,
    restore: { name: string; generation: number; restoreRKEConfig: string },
    message: string,
  ): void {
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    if (runtime) runtime.restorePhase = undefined;
    const controlPlane = this.world.local.get(CONTROL_PLANE, namespace, name);
    if (controlPlane) {
      const next = clone(controlPlane);
      const status = next.status as Record<string, unknown>;
      status.etcdSnapshotRestorePhase = 'Failed';
      status.etcdSnapshotRestore = clone(restore);
      this.world.local.write('MODIFIED', CONTROL_PLANE, next);
    }
    this.writeStatus(namespace, name, (_s, c) => {
      setCondition(c, 'Ready', 'False', message, 'Error');
      setCondition(c, 'Updated', 'False', message, 'Error');
    });
    this.syncTwin(namespace, name);
  }

  private finishRestore(
    namespace: string,
    name: string,
    restore: { name: string; restoreRKEConfig: string },
  ): void {
    const snapshot = this.world.local.get(SNAPSHOT, namespace, restore.name);
    const runtime = this.runtimes.get(`${namespace}/${name}`);
    if (snapshot && runtime && restore.restoreRKEConfig !== 'none') {
      // `kubernetesVersion` and `all` put the recorded version back into the spec (§5.4).
      const file = snapshot.snapshotFile as Record<string, unknown>;
      let recorded = '';
      try {
        recorded = String(
          JSON.parse(Buffer.from(String(file.metadata), 'base64').toString('utf8')).kubernetesVersion ?? '',
        );
      } catch {
        recorded = '';
      }
      const cluster = this.world.local.get(CLUSTER, namespace, name);
      if (cluster && recorded !== '' && specOf(cluster).kubernetesVersion !== recorded) {
        const next = clone(cluster);
        (next.spec as Spec).kubernetesVersion = recorded;
        const meta = next.metadata as unknown as Record<string, unknown>;
        meta.generation = Number(meta.generation ?? 1) + 1;
        this.world.local.write('MODIFIED', CLUSTER, next);
        runtime.appliedVersion = recorded;
      }
    }
    this.writeStatus(namespace, name, (_s, c) => {
      setCondition(c, 'Ready', 'True');
      setCondition(c, 'Updated', 'Unknown', 'reconciling', 'Waiting');
    });
    this.evaluate(namespace, name);
  }

  private drop(schemaId: string, object: KubeObject): void {
    this.creationOrder.delete(object.metadata.uid);
    if (schemaId === MACHINE) this.customHostnames.delete(key(object));
    const latest = this.world.local.get(schemaId, object.metadata.namespace, object.metadata.name);
    if (latest) deleteNow(this.world, this.schema(schemaId), latest);
  }
}

/** A machine no machine pool made (a custom machine registered by a system agent). */
function isCustom(machine: KubeObject): boolean {
  return poolOf(machine) === '';
}

function randomHex(length: number): string {
  return uuid().replace(/-/g, '').slice(0, length);
}
