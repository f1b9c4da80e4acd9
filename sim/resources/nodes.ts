import type { AgentCommand } from '../agents';
import { generateName } from '../ids';
import { ApiError, invalidAction, json, type SimResponse } from '../http';
import { clone, mergeProtectedMap } from '../merge';
import { conditionStatus, setCondition, type Condition, type ConditionStatus, type Summary } from '../state';
import { HEALTHY_KUBELET } from '../kube/nodes';
import type { SimObject } from '../store';
import type { World } from '../world';
import { k8sTime, ResourceType, type RequestContext } from './resource-type';

type DrainState = 'none' | 'draining' | 'drained';

/** States in which a worker node offers its actions (§4.3). */
const ACTION_STATES = new Set(['active', 'cordoned', 'draining', 'drained']);

/** `nodeDrainInput` fields and the JSON type each must have (§4.3). */
const DRAIN_INPUT: Record<string, 'boolean' | 'number'> = {
  deleteLocalData: 'boolean',
  force: 'boolean',
  gracePeriod: 'number',
  ignoreDaemonSets: 'boolean',
  timeout: 'number',
};

/** The taints Kubernetes' node lifecycle controller puts on a node that is not Ready. */
const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';

const CAPACITY = { cpu: '4', memory: '16380640Ki', pods: '110' };
const ALLOCATABLE = { cpu: '4', memory: '16278240Ki', pods: '110' };

export class NodeType extends ResourceType {
  /**
   * The downstream Node's conditions other than Ready, by v3 node id: Rancher does not copy them
   * into the v3 node, but the Kubernetes API of the cluster shows them.
   */
  private readonly kubelet = new Map<string, Condition[]>();

  constructor(world: World) {
    super(world, {
      schemaId: 'node',
      plural: 'nodes',
      scoped: true,
      filters: [
        'name',
        'clusterId',
        'nodePoolId',
        'nodeTemplateId',
        'requestedHostname',
        'hostname',
        'nodeName',
        'ipAddress',
        'etcd',
        'controlPlane',
        'worker',
        'unschedulable',
      ],
      indexed: ['clusterId', 'nodePoolId', 'nodeTemplateId'],
      schemaActions: ['cordon', 'uncordon', 'drain', 'stopDrain', 'scaledown'],
    });
  }

  /** Pool nodes are made by the pool controller, not by clients (§4.2). */
  override get canCreate(): boolean {
    return false;
  }

  /** A machine created by the pool controller, starting its provisioning script (§4.3). */
  createForPool(pool: SimObject, hostname: string): SimObject {
    const node = this.buildForPool(pool, hostname);
    const template = this.world.nodeTemplates.table.get(pool.fields.nodeTemplateId as string);
    const driver = (template?.fields.driver as string | undefined) ?? 'machine';
    setCondition(node.conditions, 'Initialized', 'True');
    setCondition(node.conditions, 'Provisioned', 'Unknown', `Provisioning with ${driver}...`);
    this.table.add(node);
    this.reconcile(node);
    return node;
  }

  /** An already-registered node, for `/__sim/seed`. */
  createActive(pool: SimObject, hostname: string): SimObject {
    const node = this.buildForPool(pool, hostname);
    setCondition(node.conditions, 'Initialized', 'True');
    this.markProvisioned(node);
    this.markRegistered(node);
    this.table.add(node);
    return node;
  }

  /**
   * A custom node registered by `rancher-agent` on someone's own server (§5, `/__sim/agents`): no
   * pool, no template, a `customConfig` (which is what gives it a `remove` link, §4.3). The agent's
   * `--label`s and `--taints` become the Kubernetes node's labels and taints.
   */
  registerCustom(cluster: SimObject, hostname: string, agent: AgentCommand): SimObject {
    const taken = this.table
      .where('clusterId', cluster.id)
      .some((n) => this.isLive(n) && n.fields.requestedHostname === hostname);
    if (taken) throw new ApiError(409, 'AlreadyExists', `a node named ${hostname} is already registered`);
    const node = this.build(cluster.id, hostname, {
      nodePoolId: null,
      nodeTemplateId: null,
      ...agent.roles,
      customConfig: {
        address: `10.${octet()}.${octet()}.${octet()}`,
        internalAddress: '',
        label: { ...agent.labels },
        taints: agent.taints.map((t) => `${t.key}=${t.value}:${t.effect}`),
      },
      nodeTaints: agent.taints.map((t) => ({ ...t })),
    });
    Object.assign(node.labels, agent.labels);
    // The agent is already running: nothing to provision, only the node's registration is ahead.
    setCondition(node.conditions, 'Initialized', 'True');
    setCondition(node.conditions, 'Provisioned', 'Unknown', 'Registering agent...');
    this.table.add(node);
    this.reconcile(node);
    return node;
  }

  private buildForPool(pool: SimObject, hostname: string): SimObject {
    const node = this.build(pool.fields.clusterId as string, hostname, {
      nodePoolId: pool.id,
      nodeTemplateId: pool.fields.nodeTemplateId,
      etcd: pool.fields.etcd === true,
      controlPlane: pool.fields.controlPlane === true,
      worker: pool.fields.worker === true,
      nodeTaints: clone(pool.fields.nodeTaints),
    });
    Object.assign(node.labels, pool.labels, pool.fields.nodeLabels);
    return node;
  }

  /** A node object before any controller touched it; `fields` says whose it is and its roles. */
  private build(clusterId: string, hostname: string, fields: Record<string, unknown>): SimObject {
    const id = generateName(`${clusterId}:m-`, (candidate) => this.table.has(candidate));
    const node = this.world.newObject('node', id, hostname, {
      clusterId,
      requestedHostname: hostname,
      hostname: '',
      nodeName: '',
      ipAddress: '',
      externalIpAddress: '',
      unschedulable: false,
      imported: false,
      taints: [],
      capacity: {},
      allocatable: {},
      requested: {},
      limits: {},
      info: {},
      description: '',
      ...fields,
    });
    node.hidden.drain = 'none';
    node.hidden.createdAt = Date.now();
    return node;
  }

  /** provisioning → registering → active, one timer per step (§4.3). */
  override reconcile(node: SimObject): void {
    if (!this.isLive(node)) return;
    const { scheduler, timings } = this.world;
    const provisioned = conditionStatus(node.conditions, 'Provisioned');
    if (provisioned === 'Unknown') {
      scheduler.ensure(`${node.id}#provision`, timings.nodeProvisionMs, () => {
        if (!this.isLive(node) || conditionStatus(node.conditions, 'Provisioned') !== 'Unknown') return;
        this.markProvisioned(node);
        this.reconcile(node);
      });
    } else if (provisioned === 'True') {
      // Provisioned may have been forced True by `/__sim/conditions` before Registered existed.
      if (conditionStatus(node.conditions, 'Registered') === undefined) {
        setCondition(node.conditions, 'Registered', 'Unknown', 'waiting to register with Kubernetes');
      }
      if (conditionStatus(node.conditions, 'Registered') === 'Unknown') {
        scheduler.ensure(`${node.id}#register`, timings.nodeRegisterMs, () => {
          if (!this.isLive(node) || conditionStatus(node.conditions, 'Registered') !== 'Unknown') return;
          this.markRegistered(node);
          this.notifyCluster(node);
        });
      }
    }
    if (provisioned === 'False') {
      // A broken machine is deleted and the pool creates a new one: the real endless loop of a bad template.
      const createdAt = node.hidden.createdAt as number;
      const wait = Math.max(0, createdAt + timings.nodeFailedReplaceMs - Date.now());
      scheduler.ensure(`${node.id}#replace`, wait, () => {
        if (this.isLive(node) && conditionStatus(node.conditions, 'Provisioned') === 'False')
          this.remove(node);
      });
    }
    if (node.hidden.drain === 'draining') {
      scheduler.ensure(`${node.id}#drain`, timings.nodeDrainMs, () => {
        if (this.isLive(node) && node.hidden.drain === 'draining') node.hidden.drain = 'drained';
      });
    }
    this.watchReadiness(node);
  }

  /**
   * What happens to a registered node whose kubelet `Ready` is not True. Kubernetes' node lifecycle
   * controller taints it (`unreachable` when the kubelet stopped reporting, Ready=Unknown;
   * `not-ready` when it reports NotReady, Ready=False). With `deleteNotReadyAfterSecs > 0` on its
   * pool, the pool controller deletes a node that carries the `unreachable` taint with Ready
   * Unknown for longer than that many seconds, and the pool makes a new one (rancher-212.md §3.4);
   * a node that reports Ready=False is left alone, as in `nodepool.go`.
   */
  watchReadiness(node: SimObject): void {
    if (!this.isLive(node)) return;
    const ready = node.conditions.find((c) => c.type === 'Ready');
    if (!ready) return;
    const taint =
      ready.status === 'Unknown' ? UNREACHABLE_TAINT : ready.status === 'False' ? NOT_READY_TAINT : undefined;
    const taints = (Array.isArray(node.fields.taints) ? node.fields.taints : []) as Array<{ key: string }>;
    const kept = taints.filter((t) => t.key !== UNREACHABLE_TAINT && t.key !== NOT_READY_TAINT);
    node.fields.taints = taint
      ? [...kept, { key: taint, effect: 'NoExecute', timeAdded: ready.lastTransitionTime }]
      : kept;
    if (taint !== UNREACHABLE_TAINT) return;
    const pool = this.world.nodePools.table.get(node.fields.nodePoolId as string);
    const seconds = pool ? Number(pool.fields.deleteNotReadyAfterSecs) : 0;
    if (!pool || !(seconds > 0)) return;
    const since = Date.parse(ready.lastTransitionTime ?? '') || Date.now();
    const wait = Math.max(0, since + seconds * 1000 - Date.now());
    this.world.scheduler.ensure(`${node.id}#not-ready`, wait, () => {
      if (!this.isLive(node) || !this.world.nodePools.isLive(pool)) return;
      const now = node.conditions.find((c) => c.type === 'Ready');
      const limit = Number(pool.fields.deleteNotReadyAfterSecs);
      if (now?.status !== 'Unknown' || !(limit > 0)) return;
      // The setting may have grown meanwhile: look again when the longer wait is over.
      if ((Date.parse(now.lastTransitionTime ?? '') || 0) + limit * 1000 > Date.now()) {
        this.watchReadiness(node);
        return;
      }
      this.remove(node);
    });
  }

  private markProvisioned(node: SimObject): void {
    setCondition(node.conditions, 'Provisioned', 'True');
    setCondition(node.conditions, 'Saved', 'True');
    setCondition(node.conditions, 'Registered', 'Unknown', 'waiting to register with Kubernetes');
    node.fields.hostname = node.fields.requestedHostname;
    node.fields.ipAddress = `10.${octet()}.${octet()}.${octet()}`;
  }

  private markRegistered(node: SimObject): void {
    const hostname = node.fields.requestedHostname as string;
    setCondition(node.conditions, 'Registered', 'True');
    // The Kubernetes node reports the CNI's NetworkUnavailable and the kubelet's conditions; the
    // node syncer copies only Ready into the v3 node (`cleanStatus` in rancher/rancher
    // `pkg/controllers/managementuser/nodesyncer/nodessyncer.go`), so the rest live beside it.
    const reported: Condition[] = [];
    for (const [type, status, reason, message] of HEALTHY_KUBELET) {
      if (type !== 'Ready') setCondition(reported, type, status, message, reason);
    }
    this.kubelet.set(node.id, reported);
    setCondition(node.conditions, 'Ready', 'True', 'kubelet is posting ready status', 'KubeletReady');
    node.fields.nodeName = hostname;
    node.fields.capacity = { ...CAPACITY };
    node.fields.allocatable = { ...ALLOCATABLE };
    node.fields.requested = { cpu: '350m', memory: '140Mi', pods: '6' };
    node.fields.limits = { cpu: '100m', memory: '340Mi', pods: '0' };
    const cluster = this.world.clusters.table.get(node.fields.clusterId as string);
    const kubelet = cluster
      ? this.world.clusters.kubernetesVersionOf(cluster).replace(/-rancher.*$/, '')
      : '';
    node.fields.info = {
      cpu: { count: 4 },
      memory: { memTotalKiB: 16380640 },
      os: {
        operatingSystem: 'Ubuntu 22.04.5 LTS',
        kernelVersion: '5.15.0-131-generic',
        dockerVersion: '27.3.1',
      },
      kubernetes: { kubeletVersion: kubelet, kubeProxyVersion: kubelet },
    };
    Object.assign(node.labels, { 'kubernetes.io/hostname': hostname, 'kubernetes.io/os': 'linux' });
  }

  private notifyCluster(node: SimObject): void {
    const cluster = this.world.clusters.table.get(node.fields.clusterId as string);
    if (cluster) this.world.clusters.reconcile(cluster);
  }

  override update(
    node: SimObject,
    body: Record<string, unknown>,
    _replace: boolean,
    _ctx: RequestContext,
  ): void {
    // Roles and requestedHostname are noupdate; only descriptive fields and k8s metadata change.
    if (typeof body.name === 'string') node.name = body.name;
    if (typeof body.description === 'string') node.fields.description = body.description;
    if (Array.isArray(body.nodeTaints)) node.fields.nodeTaints = clone(body.nodeTaints);
    node.labels = mergeProtectedMap(node.labels, body.labels);
    node.annotations = mergeProtectedMap(node.annotations, body.annotations);
  }

  protected override deleteDelayMs(): number {
    return this.world.timings.nodeDeleteMs;
  }

  /**
   * The downstream Node's conditions besides Ready (the CNI's and the kubelet's pressure ones), as
   * the cluster's Kubernetes API shows them; empty until the node registered.
   */
  kubeletConditions(node: SimObject): readonly Condition[] {
    return this.kubelet.get(node.id) ?? [];
  }

  /**
   * The kubelet reports a condition other than Ready on the downstream Node (`/__sim/conditions`).
   * The v3 node does not change: the node syncer keeps only Ready. False when the node has not
   * registered with Kubernetes yet, so it has no Node to report on.
   */
  setKubeletCondition(
    node: SimObject,
    type: string,
    status: ConditionStatus,
    message: string,
    reason: string,
  ): boolean {
    const conditions = this.kubelet.get(node.id);
    if (!conditions) return false;
    setCondition(conditions, type, status, message, reason);
    return true;
  }

  /** A gone node is replaced if its pool still wants it (§4.2 "Replacement"). */
  override finishRemove(node: SimObject): void {
    super.finishRemove(node);
    this.kubelet.delete(node.id);
    const pool = this.world.nodePools.table.get(node.fields.nodePoolId as string);
    if (pool && this.world.nodePools.isLive(pool)) this.world.nodePools.requestSync(pool);
  }

  /** Store-computed states layered over the condition summary (`store/node/store.go` `setState`). */
  override summary(node: SimObject): Summary {
    const base = super.summary(node);
    if (base.state !== 'active' || base.transitioning !== 'no') return base;
    const drain = node.hidden.drain as DrainState;
    if (drain === 'draining') return { ...base, state: 'draining', transitioning: 'yes' };
    if (drain === 'drained') return { ...base, state: 'drained' };
    if (node.fields.unschedulable === true) return { ...base, state: 'cordoned' };
    return base;
  }

  override actions(node: SimObject): string[] {
    const state = this.summary(node).state;
    if (node.fields.worker !== true || !ACTION_STATES.has(state)) return [];
    const actions = ['cordon', 'uncordon', 'drain'];
    if (state === 'draining') actions.push('stopDrain');
    if (node.fields.nodeTemplateId) actions.push('scaledown');
    return actions;
  }

  override runAction(
    node: SimObject,
    name: string,
    body: Record<string, unknown>,
    _ctx: RequestContext,
  ): SimResponse {
    switch (name) {
      case 'cordon':
        if (node.fields.unschedulable === true) throw invalidAction(`Node ${node.id} already cordoned`);
        node.fields.unschedulable = true;
        break;
      case 'uncordon':
        if (node.fields.unschedulable !== true) throw invalidAction(`Node ${node.id} already uncordoned`);
        node.fields.unschedulable = false;
        node.hidden.drain = 'none';
        break;
      case 'drain':
        validateDrainInput(body);
        node.fields.unschedulable = true;
        node.hidden.drain = 'draining';
        this.reconcile(node);
        break;
      case 'stopDrain':
        // Stopping a drain leaves the node cordoned.
        node.hidden.drain = 'none';
        break;
      case 'scaledown': {
        node.fields.scaledownTime = k8sTime();
        const pool = this.world.nodePools.table.get(node.fields.nodePoolId as string);
        if (pool) this.world.nodePools.scaleDown(pool, node);
        else this.remove(node);
        break;
      }
      default:
        throw invalidAction(`Invalid action: ${name}`);
    }
    return json(200, {});
  }
}

function validateDrainInput(body: Record<string, unknown>): void {
  for (const [field, type] of Object.entries(DRAIN_INPUT)) {
    const value = body[field];
    if (value !== undefined && value !== null && typeof value !== type) {
      throw new ApiError(422, 'InvalidBodyContent', `Failed to parse body: ${field} must be a ${type}`);
    }
  }
}

function octet(): number {
  return 1 + Math.floor(Math.random() * 254);
}
