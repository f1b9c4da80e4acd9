/**
 * The downstream cluster's `Node` objects, derived on every read from the simulator's own `/v3`
 * node objects of that cluster: a node appears once it registered with Kubernetes (`nodeName`
 * set) and disappears when Rancher deletes it.
 */
import { isPlainObject } from '../http';
import type { ConditionStatus } from '../state';
import type { SimObject } from '../store';
import type { World } from '../world';
import type { KubeObject } from './store';

/** RKE1 labels its nodes with one `node-role.kubernetes.io/<role>=true` per role. */
const ROLE_LABELS: Array<[field: string, role: string]> = [
  ['controlPlane', 'controlplane'],
  ['etcd', 'etcd'],
  ['worker', 'worker'],
];

export function clusterNodes(world: World, cluster: SimObject, resourceVersion: string): KubeObject[] {
  const out: KubeObject[] = [];
  const provisioning = world.steve.provisioning.clusterOfTwin(cluster.id);
  if (provisioning) {
    const version = world.clusters.kubernetesVersionOf(cluster);
    for (const machine of world.steve.provisioning.machinesOf(
      provisioning.metadata.namespace!,
      provisioning.metadata.name,
    )) {
      const node = machineNode(world, machine, version, resourceVersion);
      if (node) out.push(node);
    }
  }
  for (const node of world.nodes.table.where('clusterId', cluster.id)) {
    if (node.removed !== undefined || node.fields.nodeName === '') continue;
    out.push(nodeObject(world, node, resourceVersion));
  }
  return out.sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
}

/** What a kubelet (and, for NetworkUnavailable, the CNI) reports on a healthy Node, in its order. */
export const HEALTHY_KUBELET: ReadonlyArray<
  [type: string, status: ConditionStatus, reason: string, message: string]
> = [
  ['NetworkUnavailable', 'False', 'CalicoIsUp', 'Calico is running on this node'],
  ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
  ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
];

/** The conditions a kubelet (and, for NetworkUnavailable, the CNI) sets on its Node. */
const KUBELET_CONDITIONS = HEALTHY_KUBELET.map(([type]) => type);

export function isNodeReady(node: KubeObject): boolean {
  const conditions = (node.status as { conditions: Array<{ type: string; status: string }> }).conditions;
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

function nodeObject(world: World, node: SimObject, resourceVersion: string): KubeObject {
  const name = node.fields.nodeName as string;
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    ...node.labels,
  };
  for (const [field, role] of ROLE_LABELS) {
    if (node.fields[field] === true) labels[`node-role.kubernetes.io/${role}`] = 'true';
  }
  const info = isPlainObject(node.fields.info) ? node.fields.info : {};
  const os = isPlainObject(info.os) ? info.os : {};
  const kubernetes = isPlainObject(info.kubernetes) ? info.kubernetes : {};
  const spec: Record<string, unknown> = {};
  if (node.fields.unschedulable === true) {
    spec.unschedulable = true;
    spec.taints = [
      { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAddedAt: node.created },
    ];
  }
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: node.uuid,
      resourceVersion,
      creationTimestamp: node.created,
      labels,
      annotations: { 'rke.cattle.io/internal-ip': String(node.fields.ipAddress) },
    },
    spec,
    status: {
      capacity: node.fields.capacity,
      allocatable: node.fields.allocatable,
      // The kubelet's conditions, in the order the kubelet reports them: Ready as the v3 node has
      // it (the node syncer copies it there), the others as the node type keeps them.
      conditions: KUBELET_CONDITIONS.flatMap((type) => {
        const c =
          type === 'Ready'
            ? node.conditions.find((x) => x.type === type)
            : world.nodes.kubeletConditions(node).find((x) => x.type === type);
        if (type !== 'Ready' && !c) return [];
        return [
          {
            type,
            status: c?.status ?? 'Unknown',
            reason: c?.reason ?? 'NodeStatusUnknown',
            message: c?.message ?? 'Kubelet stopped posting node status.',
            lastHeartbeatTime: c?.lastUpdateTime ?? node.created,
            lastTransitionTime: c?.lastTransitionTime ?? node.created,
          },
        ];
      }),
      addresses: [
        { type: 'InternalIP', address: node.fields.ipAddress },
        { type: 'Hostname', address: name },
      ],
      nodeInfo: {
        kubeletVersion: kubernetes.kubeletVersion ?? '',
        kubeProxyVersion: kubernetes.kubeProxyVersion ?? '',
        osImage: os.operatingSystem ?? '',
        kernelVersion: os.kernelVersion ?? '',
        containerRuntimeVersion: `docker://${String(os.dockerVersion ?? '')}`,
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: node.uuid.replace(/-/g, ''),
        systemUUID: node.uuid,
        bootID: node.uuid,
      },
    },
  };
}

/** RKE2/K3s role labels; Rancher adds the worker one itself. */
const V2_ROLE_LABELS: Array<[label: string, roles: string[]]> = [
  ['rke.cattle.io/etcd-role', ['etcd']],
  ['rke.cattle.io/control-plane-role', ['control-plane', 'master']],
  ['rke.cattle.io/worker-role', ['worker']],
];

/** The Node of a provisioning-v2 machine of twin `cluster`, or undefined while it has none. */
export function nodeOfMachine(world: World, cluster: SimObject, machine: KubeObject): KubeObject | undefined {
  return machineNode(world, machine, world.clusters.kubernetesVersionOf(cluster), '');
}

/** The Node of a provisioning-v2 machine once it runs (has a `nodeRef`) and is not being deleted. */
function machineNode(
  world: World,
  machine: KubeObject,
  kubeletVersion: string,
  resourceVersion: string,
): KubeObject | undefined {
  const status = isPlainObject(machine.status) ? machine.status : {};
  const nodeRef = isPlainObject(status.nodeRef) ? status.nodeRef : undefined;
  if (!nodeRef || machine.metadata.deletionTimestamp) return undefined;
  const name = String(nodeRef.name);
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
  };
  for (const [label, roles] of V2_ROLE_LABELS) {
    if (machine.metadata.labels?.[label] === 'true')
      for (const role of roles) labels[`node-role.kubernetes.io/${role}`] = 'true';
  }
  const addresses = Array.isArray(status.addresses) ? status.addresses : [];
  const internal = addresses.find((a: { type?: string }) => a.type === 'InternalIP') as
    { address?: string } | undefined;
  const spec = isPlainObject(machine.spec) ? machine.spec : {};
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: machine.metadata.uid,
      resourceVersion,
      creationTimestamp: machine.metadata.creationTimestamp,
      labels,
      annotations: {
        // CAPI's own (cluster-api machine_controller_noderef.go), then the distro's.
        ...capiAnnotations(machine),
        'rke2.io/internal-ip': internal?.address ?? '',
      },
    },
    spec: { providerID: spec.providerID },
    status: {
      conditions: world.steve.managementNodes.kubeletConditions(machine),
      addresses,
      nodeInfo: {
        kubeletVersion,
        kubeProxyVersion: kubeletVersion,
        osImage: 'Ubuntu 22.04.4 LTS',
        kernelVersion: '5.15.0-105-generic',
        containerRuntimeVersion: 'containerd://1.7.23-k3s2',
        operatingSystem: 'linux',
        architecture: 'amd64',
        machineID: machine.metadata.uid.replace(/-/g, ''),
        systemUUID: machine.metadata.uid,
        bootID: machine.metadata.uid,
      },
    },
  };
}

/** The annotations CAPI's machine controller puts on a machine's Node. */
function capiAnnotations(machine: KubeObject): Record<string, string> {
  const spec = isPlainObject(machine.spec) ? machine.spec : {};
  const annotations: Record<string, string> = {
    'cluster.x-k8s.io/cluster-name': String(
      spec.clusterName ?? machine.metadata.labels?.['cluster.x-k8s.io/cluster-name'] ?? '',
    ),
    'cluster.x-k8s.io/cluster-namespace': machine.metadata.namespace ?? '',
    'cluster.x-k8s.io/machine': machine.metadata.name,
  };
  const owners = (machine.metadata as unknown as { ownerReferences?: Array<Record<string, unknown>> })
    .ownerReferences;
  const controller = Array.isArray(owners) ? owners.find((o) => o.controller === true) : undefined;
  if (controller) {
    annotations['cluster.x-k8s.io/owner-kind'] = String(controller.kind);
    annotations['cluster.x-k8s.io/owner-name'] = String(controller.name);
  }
  return annotations;
}
