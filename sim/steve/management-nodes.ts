/**
 * Rancher's `management.cattle.io` Node objects of provisioning-v2 (RKE2/K3s) clusters, served by
 * steve as `management.cattle.io.nodes`, and the kubelet conditions of those clusters' Nodes.
 *
 * What Rancher does (rancher/rancher `pkg/controllers/managementuser/nodesyncer/nodessyncer.go`,
 * which runs for every downstream cluster, provisioning v2 included):
 * - `reconcileAll` makes one management Node per downstream `Node`, in the management cluster's
 *   namespace (`c-m-xxxxxxxx`), and deletes it (`removeNode`) once that `Node` is gone;
 * - `convertNodeToMachine` names it `machine-` + 5 characters (`generateName`), labels it
 *   `management.cattle.io/nodename=<node>`, sets `spec.requestedHostname` and `status.nodeName` to
 *   the node's name, copies the node's labels and annotations into `status.nodeLabels` /
 *   `status.nodeAnnotations` and its status into `status.internalNodeStatus`, derives the roles
 *   from the `node-role.kubernetes.io/*` labels (`determineNodeRoles`) and sets `Registered=True`
 *   "registered with kubernetes";
 * - `cleanStatus` keeps only the kubelet's `Ready` in `status.internalNodeStatus.conditions`
 *   (MemoryPressure, DiskPressure, PIDPressure and NetworkUnavailable are dropped) and copies it
 *   into `status.conditions` beside Rancher's own.
 * The downstream Node carries CAPI's annotations (kubernetes-sigs/cluster-api
 * `internal/controllers/machine/machine_controller_noderef.go`): `cluster.x-k8s.io/cluster-name`,
 * `cluster.x-k8s.io/cluster-namespace`, `cluster.x-k8s.io/machine` and, for a machine a MachineSet
 * owns, `cluster.x-k8s.io/owner-kind` / `owner-name`; they reach the management Node through
 * `status.nodeAnnotations`, which is how a reader finds the CAPI machine behind it.
 *
 * Here a machine's Node exists while the machine runs (has a `nodeRef`) and is not being deleted,
 * as `sim/kube/nodes.ts` serves it; every machine write re-derives its management Node.
 */
import { randomChars, uuid } from '../ids';
import { isPlainObject } from '../http';
import type { ChangeEvent, KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import { setCondition, type Condition, type ConditionStatus } from '../state';
import type { World } from '../world';
import { MACHINE, clusterOf, conditionsOf, key } from './objects';
import type { SteveSchema, SteveState } from './schema';
import { HEALTHY_KUBELET, nodeOfMachine } from '../kube/nodes';

export const MANAGEMENT_NODE = 'management.cattle.io.node';

export class ManagementNodes {
  /** The kubelet's conditions of each machine's Node, by the machine's `namespace/name`. */
  private readonly kubelet = new Map<string, Condition[]>();
  /** The management Node mirroring each machine's Node: machine `namespace/name` → its `namespace/name`. */
  private readonly byMachine = new Map<string, { namespace: string; name: string }>();

  constructor(private readonly world: World) {
    world.local.subscribe((event) => this.onWrite(event));
  }

  schema(): SteveSchema {
    return {
      id: MANAGEMENT_NODE,
      group: 'management.cattle.io',
      version: 'v3',
      kind: 'Node',
      resource: 'nodes',
      namespaced: true,
      // Written by the node syncer only in this model; a client delete is not modelled.
      methods: [],
      state: (_world, object) => nodeState(object),
    };
  }

  /**
   * The kubelet's conditions of a machine's Node, in the kubelet's order. `Ready` also follows the
   * machine's `NodeHealthy` when only that was made unhealthy (through `/__sim/conditions` on the
   * machine), so the older way of failing a v2 node keeps working.
   */
  kubeletConditions(machine: KubeObject): Condition[] {
    const own = this.kubeletOf(key(machine), machine.metadata.creationTimestamp);
    const health = conditionsOf(machine).find((c) => c.type === 'NodeHealthy');
    const ready = own.find((c) => c.type === 'Ready')!;
    if (ready.status !== 'True' || !health || health.status === 'True') return own.map((c) => ({ ...c }));
    const derived: Condition =
      health.status === 'False'
        ? {
            type: 'Ready',
            status: 'False',
            reason: 'KubeletNotReady',
            message: 'container runtime is down',
            lastTransitionTime: health.lastTransitionTime,
          }
        : {
            type: 'Ready',
            status: 'Unknown',
            reason: 'NodeStatusUnknown',
            message: 'Kubelet stopped posting node status.',
            lastTransitionTime: health.lastTransitionTime,
          };
    return own.map((c) => (c.type === 'Ready' ? derived : { ...c }));
  }

  /**
   * `/__sim/conditions` on a v2 node (`{"type":"node","id":"c-m-…/machine-…"}`): the kubelet
   * reports a condition on the Node; the node syncer copies what it keeps. Undefined when no
   * management Node has that id.
   */
  setKubeletCondition(
    id: string,
    type: string,
    status: ConditionStatus,
    message: string,
    reason: string,
  ): KubeObject | undefined {
    const [namespace, name] = id.split('/');
    const node = this.world.local.get(MANAGEMENT_NODE, namespace, name);
    const machineKey =
      node && [...this.byMachine].find(([, n]) => n.namespace === namespace && n.name === name)?.[0];
    if (!node || !machineKey) return undefined;
    setCondition(this.kubeletOf(machineKey, node.metadata.creationTimestamp), type, status, message, reason);
    const [machineNamespace, machineName] = machineKey.split('/');
    const machine = this.world.local.get(MACHINE, machineNamespace, machineName);
    if (machine) this.sync(machine);
    return this.world.local.get(MANAGEMENT_NODE, namespace, name);
  }

  private kubeletOf(machineKey: string, since: string): Condition[] {
    let conditions = this.kubelet.get(machineKey);
    if (!conditions) {
      conditions = HEALTHY_KUBELET.map(([type, status, reason, message]) => ({
        type,
        status,
        reason,
        message,
        lastUpdateTime: since,
        lastTransitionTime: since,
      }));
      this.kubelet.set(machineKey, conditions);
    }
    return conditions;
  }

  private onWrite(event: ChangeEvent | null): void {
    if (!event || event.resource !== MACHINE) return;
    if (event.type === 'DELETED') {
      this.remove(key(event.object));
      this.kubelet.delete(key(event.object));
      return;
    }
    this.sync(event.object);
  }

  /** The node syncer's pass over one machine's Node: create, update or delete its management Node. */
  private sync(machine: KubeObject): void {
    const machineKey = key(machine);
    const twin = this.world.steve.provisioning.twinOf(machine.metadata.namespace ?? '', clusterOf(machine));
    const node = twin ? nodeOfMachine(this.world, twin, machine) : undefined;
    if (!twin || !node) {
      this.remove(machineKey);
      return;
    }
    const placed = this.byMachine.get(machineKey);
    const current = placed && this.world.local.get(MANAGEMENT_NODE, placed.namespace, placed.name);
    const next = toManagementNode(node, twin.id, current);
    if (current && JSON.stringify(stripVersion(current)) === JSON.stringify(stripVersion(next))) return;
    const stored = this.world.local.write(current ? 'MODIFIED' : 'ADDED', MANAGEMENT_NODE, next);
    this.byMachine.set(machineKey, { namespace: twin.id, name: stored.metadata.name });
  }

  private remove(machineKey: string): void {
    const placed = this.byMachine.get(machineKey);
    if (!placed) return;
    this.byMachine.delete(machineKey);
    const current = this.world.local.get(MANAGEMENT_NODE, placed.namespace, placed.name);
    if (current) this.world.local.write('DELETED', MANAGEMENT_NODE, current);
  }
}

const stripVersion = (object: KubeObject) => ({
  ...object,
  metadata: { ...object.metadata, resourceVersion: '' },
});

/** `convertNodeToMachine` + `cleanStatus` over a downstream Node (see the file comment). */
function toManagementNode(node: KubeObject, namespace: string, current: KubeObject | undefined): KubeObject {
  const nodeStatus = isPlainObject(node.status) ? node.status : {};
  const nodeSpec = isPlainObject(node.spec) ? node.spec : {};
  const kubelet = Array.isArray(nodeStatus.conditions) ? (nodeStatus.conditions as Condition[]) : [];
  const ready = kubelet.filter((c) => c.type === 'Ready');
  const labels = node.metadata.labels ?? {};
  const etcd = 'node-role.kubernetes.io/etcd' in labels;
  const controlPlane =
    'node-role.kubernetes.io/controlplane' in labels || 'node-role.kubernetes.io/master' in labels;
  const worker = 'node-role.kubernetes.io/worker' in labels;
  const name = node.metadata.name;
  return {
    apiVersion: 'management.cattle.io/v3',
    kind: 'Node',
    metadata: {
      name: current?.metadata.name ?? `machine-${randomChars(5)}`,
      generateName: 'machine-',
      namespace,
      uid: current?.metadata.uid ?? uuid(),
      resourceVersion: '',
      creationTimestamp: current?.metadata.creationTimestamp ?? k8sTime(),
      labels: { 'management.cattle.io/nodename': name },
      annotations: { 'management.cattle.io/nodesyncer': 'true' },
    },
    spec: {
      requestedHostname: name,
      etcd,
      controlPlane,
      worker: worker || (!etcd && !controlPlane),
      internalNodeSpec: { ...nodeSpec },
    },
    status: {
      nodeName: name,
      internalNodeStatus: {
        addresses: nodeStatus.addresses,
        nodeInfo: nodeStatus.nodeInfo,
        conditions: ready,
      },
      conditions: [
        ...ready.map((c) => ({
          type: 'Ready',
          status: c.status,
          reason: c.reason,
          message: c.message,
          lastUpdateTime: c.lastUpdateTime,
          lastTransitionTime: c.lastTransitionTime,
        })),
        { type: 'Registered', status: 'True', message: 'registered with kubernetes' },
      ],
      nodeLabels: { ...labels },
      nodeAnnotations: { ...(node.metadata.annotations ?? {}) },
      requested: {},
      limits: {},
    },
  };
}

/** Steve's summary of a management Node: `active`, or `unavailable` while its Ready is not True. */
function nodeState(object: KubeObject): SteveState {
  const ready = conditionsOf(object).find((c) => c.type === 'Ready');
  if (object.metadata.deletionTimestamp)
    return { name: 'removing', error: false, transitioning: true, message: '' };
  if (ready && ready.status !== 'True')
    return { name: 'unavailable', error: true, transitioning: false, message: ready.message ?? '' };
  return { name: 'active', error: false, transitioning: false, message: '' };
}
