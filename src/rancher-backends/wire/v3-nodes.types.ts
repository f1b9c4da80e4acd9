/**
 * Rancher norman `/v3` node templates, node pools and nodes (rancher-api.md §4) and their mapping
 * to Paddock's domain types.
 */

import {
  PADDOCK_LABELS,
  type NodeRoles,
  type NodeTemplateRef,
  type RemoteNode,
  type RemoteNodePool,
} from '../backend-driver';
import { clusterIdOf, isTrueIn, toLabels, toRoles, toStatus, type V3Resource } from './v3-common.types';

export interface V3NodeTemplate extends V3Resource {
  driver?: string;
}

export interface V3NodePool extends V3Resource {
  clusterId?: string;
  nodeTemplateId?: string;
  hostnamePrefix?: string;
  quantity?: number;
  etcd?: boolean;
  controlPlane?: boolean;
  worker?: boolean;
}

export interface V3NodePoolCreate {
  type: 'nodePool';
  clusterId: string;
  nodeTemplateId: string;
  hostnamePrefix: string;
  quantity: number;
  etcd: boolean;
  controlPlane: boolean;
  worker: boolean;
  labels: Record<string, string>;
  /** Seconds a node may be unreachable before the pool replaces it; 0: never (rancher-212.md §3.4). */
  deleteNotReadyAfterSecs?: number;
}

export interface V3Node extends V3Resource {
  clusterId?: string;
  nodePoolId?: string | null;
  requestedHostname?: string;
  hostname?: string;
  nodeName?: string;
  ipAddress?: string | null;
  etcd?: boolean;
  controlPlane?: boolean;
  worker?: boolean;
}

export function toRemoteNodePool(p: V3NodePool): RemoteNodePool {
  return {
    ...toStatus(p),
    id: p.id,
    clusterId: p.clusterId ?? clusterIdOf(p.id),
    hostnamePrefix: p.hostnamePrefix ?? '',
    quantity: typeof p.quantity === 'number' ? p.quantity : 0,
    roles: toRoles(p),
    nodeTemplateId: p.nodeTemplateId ?? '',
    labels: toLabels(p.labels),
  };
}

export function toRemoteNode(n: V3Node): RemoteNode {
  return {
    ...toStatus(n),
    id: n.id,
    clusterId: n.clusterId ?? clusterIdOf(n.id),
    nodePoolId: n.nodePoolId || null,
    hostname: n.hostname || n.requestedHostname || n.nodeName || n.name || '',
    ipAddress: n.ipAddress || null,
    roles: toRoles(n),
    provisioning: !isTrueIn(n, 'Provisioned') || !isTrueIn(n, 'Registered'),
    // The agent's `--label`s are the Kubernetes node's labels, which the v3 node shows.
    registrationId: n.labels?.[PADDOCK_LABELS.registrationId] ?? null,
  };
}

export function toNodeTemplateRef(t: V3NodeTemplate): NodeTemplateRef {
  return { id: t.id, name: t.name ?? '', driver: t.driver ?? '' };
}

export function toNodePoolCreate(spec: {
  clusterId: string;
  hostnamePrefix: string;
  quantity: number;
  roles: NodeRoles;
  nodeTemplateId: string;
  labels: Record<string, string>;
  autoReplaceSeconds?: number | null;
}): V3NodePoolCreate {
  const body: V3NodePoolCreate = {
    type: 'nodePool',
    clusterId: spec.clusterId,
    nodeTemplateId: spec.nodeTemplateId,
    hostnamePrefix: spec.hostnamePrefix,
    quantity: spec.quantity,
    etcd: spec.roles.etcd,
    controlPlane: spec.roles.controlPlane,
    worker: spec.roles.worker,
    labels: { ...spec.labels },
  };
  if (spec.autoReplaceSeconds) body.deleteNotReadyAfterSecs = spec.autoReplaceSeconds;
  return body;
}
