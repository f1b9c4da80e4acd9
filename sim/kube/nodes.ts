/**
 * The downstream cluster's `Node` objects, derived on every read from the simulator's own `/v3`
 * node objects of that cluster: a node appears once it registered with Kubernetes (`nodeName`
 * set) and disappears when Rancher deletes it.
 */
import { isPlainObject } from '../http';
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
  for (const node of world.nodes.table.where('clusterId', cluster.id)) {
    if (node.removed !== undefined || node.fields.nodeName === '') continue;
    out.push(nodeObject(node, resourceVersion));
  }
  return out.sort((a, b) =>
    a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0,
  );
}

/** The conditions a kubelet (and, for NetworkUnavailable, the CNI) sets on its Node. */
const KUBELET_CONDITIONS = ['NetworkUnavailable', 'MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'];

export function isNodeReady(node: KubeObject): boolean {
  const conditions = (node.status as { conditions: Array<{ type: string; status: string }> }).conditions;
  return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

function nodeObject(node: SimObject, resourceVersion: string): KubeObject {
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
      // The kubelet's conditions, in the order the kubelet reports them, as the sim node has them.
      conditions: KUBELET_CONDITIONS.flatMap((type) => {
        const c = node.conditions.find((x) => x.type === type);
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
