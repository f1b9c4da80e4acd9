/**
 * Steve `/v1` CAPI machines and Rancher's management Nodes (rancher-api.md §9, §11.6) and their
 * mapping to Paddock's domain types.
 */

import { PADDOCK_LABELS, type NodeRoles, type RemoteCondition, type RemoteNode } from '../backend-driver';
import { poolIdOf } from './v1-clusters.types';
import {
  FLEET_NAMESPACE,
  labelsOf,
  mergeConditions,
  steveId,
  toConditions,
  toStatus,
  type SteveCondition,
  type SteveObject,
} from './v1-common.types';

export interface CapiMachine extends SteveObject {
  spec?: { clusterName?: string };
  status?: {
    phase?: string;
    nodeRef?: { name?: string } | null;
    addresses?: Array<{ type?: string; address?: string }> | null;
    conditions?: SteveCondition[] | null;
  } | null;
}

/**
 * Rancher's management Node (`management.cattle.io.nodes`, `/v3/nodes` in norman's spelling): one
 * per downstream Kubernetes Node of every cluster, provisioning v2 included, in the management
 * cluster's namespace (`c-m-xxxxxxxx`), made and removed by the node syncer
 * (rancher/rancher `pkg/controllers/managementuser/nodesyncer/nodessyncer.go`). Its
 * `status.internalNodeStatus.conditions` keep only the kubelet's `Ready` (`cleanStatus`), which is
 * also copied into `status.conditions` beside Rancher's own (`Registered`).
 */
export interface ManagementNode extends SteveObject {
  spec?: { requestedHostname?: string };
  status?: {
    nodeName?: string;
    conditions?: SteveCondition[] | null;
    internalNodeStatus?: { conditions?: SteveCondition[] | null } | null;
    /** The downstream Node's annotations, CAPI's among them. */
    nodeAnnotations?: Record<string, string> | null;
  } | null;
}

/**
 * The annotations CAPI's machine controller puts on a machine's Node (kubernetes-sigs/cluster-api
 * `internal/controllers/machine/machine_controller_noderef.go`), which the node syncer copies into
 * `status.nodeAnnotations`: the management Node's link to its CAPI machine.
 */
const NODE_MACHINE_ANNOTATION = 'cluster.x-k8s.io/machine';
const NODE_MACHINE_NAMESPACE_ANNOTATION = 'cluster.x-k8s.io/cluster-namespace';

/**
 * The steve id (`<namespace>/<name>`) of the CAPI machine behind a management Node, or null for a
 * Node no CAPI machine made (an RKE1 or imported cluster's) or not annotated yet.
 */
export function machineIdOfNode(n: ManagementNode): string | null {
  const annotations = n.status?.nodeAnnotations ?? {};
  const machine = annotations[NODE_MACHINE_ANNOTATION];
  const namespace = annotations[NODE_MACHINE_NAMESPACE_ANNOTATION];
  return machine && namespace ? `${namespace}/${machine}` : null;
}

/**
 * A management Node's conditions: Rancher's own (`status.conditions`) with the kubelet's
 * (`status.internalNodeStatus.conditions`) in place of any of the same type.
 */
export function nodeConditionsOf(n: ManagementNode): RemoteCondition[] {
  return mergeConditions(
    toConditions(n.status?.conditions),
    toConditions(n.status?.internalNodeStatus?.conditions),
  );
}

// Labels Rancher puts on CAPI machines (pkg/capr): the pool and roles a machine belongs to.
const MACHINE_POOL_LABEL = 'rke.cattle.io/rke-machine-pool-name';
const MACHINE_CLUSTER_LABEL = 'cluster.x-k8s.io/cluster-name';
const AGENT_LABELS_ANNOTATION = 'rke.cattle.io/labels';
const ROLE_LABELS = {
  etcd: 'rke.cattle.io/etcd-role',
  controlPlane: 'rke.cattle.io/control-plane-role',
  worker: 'rke.cattle.io/worker-role',
} as const;

/** A CAPI machine as a node: `active` once it runs and has joined (phase `Running`, a `nodeRef`). */
export function toRemoteNode(m: CapiMachine): RemoteNode {
  const labels = labelsOf(m);
  const namespace = m.metadata?.namespace ?? FLEET_NAMESPACE;
  const clusterName = m.spec?.clusterName ?? labels[MACHINE_CLUSTER_LABEL] ?? '';
  const clusterId = `${namespace}/${clusterName}`;
  const pool = labels[MACHINE_POOL_LABEL];
  const status = toStatus(m, m.status?.conditions);
  const running = m.status?.phase === 'Running' && Boolean(m.status?.nodeRef?.name);
  const addresses = m.status?.addresses ?? [];
  const address =
    addresses.find((a) => a.type === 'InternalIP')?.address ??
    addresses.find((a) => a.type === 'ExternalIP')?.address ??
    null;
  const roles: NodeRoles = {
    etcd: labels[ROLE_LABELS.etcd] === 'true',
    controlPlane: labels[ROLE_LABELS.controlPlane] === 'true',
    worker: labels[ROLE_LABELS.worker] === 'true',
  };
  return {
    ...status,
    state: status.state === 'removing' ? 'removing' : running ? 'active' : status.state,
    id: steveId(m),
    clusterId,
    nodePoolId: pool ? poolIdOf(clusterId, pool) : null,
    hostname: m.status?.nodeRef?.name || m.metadata?.name || '',
    ipAddress: address,
    roles,
    // Still being made (or remade): not running yet and not on its way out.
    provisioning: !running && !m.metadata?.deletionTimestamp,
    registrationId: pool ? null : (agentLabelsOf(m)[PADDOCK_LABELS.registrationId] ?? null),
  };
}

/**
 * The `--label`s a system agent registered a custom machine with: Rancher keeps them, as JSON, in
 * the machine's `rke.cattle.io/labels` annotation, and the planner puts them on the node (pkg/capr).
 */
function agentLabelsOf(m: CapiMachine): Record<string, string> {
  const raw = m.metadata?.annotations?.[AGENT_LABELS_ANNOTATION];
  if (!raw) return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}
