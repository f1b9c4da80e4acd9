/**
 * Steve `/v1` provisioning clusters and their machine pools (rancher-api.md §9) and their mapping to
 * Paddock's domain types.
 */

import {
  PADDOCK_LABELS,
  type NodePoolCreateSpec,
  type RemoteCluster,
  type RemoteNodePool,
} from '../backend-driver';
import { plainKubernetesVersion } from './v3.types';
import { labelsOf, steveId, toStatus, type SteveCondition, type SteveObject } from './v1-common.types';

export interface MachinePool {
  name?: string;
  quantity?: number;
  etcdRole?: boolean;
  controlPlaneRole?: boolean;
  workerRole?: boolean;
  machineConfigRef?: { kind?: string; name?: string; apiVersion?: string };
  /** Labels of the pool's MachineDeployment: where Paddock's labels go (`labels` are node labels). */
  machineDeploymentLabels?: Record<string, string> | null;
  [field: string]: unknown;
}

export interface ProvisioningCluster extends SteveObject {
  spec?: {
    kubernetesVersion?: string;
    cloudCredentialSecretName?: string;
    rkeConfig?: { machinePools?: MachinePool[] | null; [field: string]: unknown } | null;
    [field: string]: unknown;
  };
  status?: {
    clusterName?: string;
    ready?: boolean;
    /** The `metadata.generation` the controller last acted on. */
    observedGeneration?: number;
    conditions?: SteveCondition[] | null;
  } | null;
}

/**
 * A machine pool has no object of its own: Paddock names it `<cluster's steve id>/<pool name>`
 * (`fleet-default/prod-a/workers`), which `splitPoolId` takes apart again.
 */
export const poolIdOf = (clusterId: string, poolName: string): string => `${clusterId}/${poolName}`;

export function splitPoolId(id: string): { clusterId: string; pool: string } | null {
  const parts = id.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '')) return null;
  return { clusterId: `${parts[0]}/${parts[1]}`, pool: parts[2] };
}

export function toRemoteCluster(c: ProvisioningCluster): RemoteCluster {
  const status = toStatus(c, c.status?.conditions);
  const pools = c.spec?.rkeConfig?.machinePools ?? [];
  return {
    ...status,
    id: steveId(c),
    managementId: c.status?.clusterName || null,
    name: c.metadata?.name ?? '',
    labels: labelsOf(c),
    removing: Boolean(c.metadata?.deletionTimestamp),
    // The machines the spec asks for; the sync counts the machines it actually lists.
    nodeCount: pools.reduce((sum, p) => sum + (typeof p.quantity === 'number' ? p.quantity : 0), 0),
    kubernetesVersion: runningVersion(c),
  };
}

/**
 * The version the cluster runs. The provisioning object only carries the spec's; it is what runs
 * once the controller has acted on the latest spec (`observedGeneration` caught up with
 * `generation`) and reports `Updated=True`. Until then (provisioning, or an upgrade under way)
 * the running version is not known from this object: null, and the sync keeps what it had.
 */
function runningVersion(c: ProvisioningCluster): string | null {
  const generation = c.metadata?.generation;
  const observed = c.status?.observedGeneration;
  const caughtUp = generation === undefined || (observed !== undefined && observed >= generation);
  const updated = (c.status?.conditions ?? []).find((x) => x.type === 'Updated')?.status === 'True';
  return caughtUp && updated ? plainKubernetesVersion(c.spec?.kubernetesVersion) : null;
}

/** The cluster's machine pools, each as a node pool; a pool shares its cluster's state. */
export function toRemoteNodePools(c: ProvisioningCluster): RemoteNodePool[] {
  const cluster = toRemoteCluster(c);
  return (c.spec?.rkeConfig?.machinePools ?? [])
    .filter((p): p is MachinePool & { name: string } => typeof p.name === 'string' && p.name !== '')
    .map((p) => ({
      state: cluster.removing ? 'removing' : cluster.state,
      transitioning: cluster.transitioning,
      message: cluster.message,
      conditions: [],
      id: poolIdOf(cluster.id, p.name),
      clusterId: cluster.id,
      hostnamePrefix: p.name,
      quantity: typeof p.quantity === 'number' ? p.quantity : 0,
      roles: {
        etcd: p.etcdRole === true,
        controlPlane: p.controlPlaneRole === true,
        worker: p.workerRole === true,
      },
      nodeTemplateId: p.machineConfigRef?.name ?? '',
      labels: { ...(p.machineDeploymentLabels ?? {}) },
    }));
}

/** A machine pool as Paddock creates it; Paddock's labels go on its MachineDeployment. */
export function toMachinePool(
  spec: NodePoolCreateSpec,
  machineConfig: { kind: string; name: string },
): MachinePool {
  return {
    name: spec.name ?? spec.hostnamePrefix.replace(/-+$/, ''),
    quantity: spec.quantity,
    etcdRole: spec.roles.etcd,
    controlPlaneRole: spec.roles.controlPlane,
    workerRole: spec.roles.worker,
    machineConfigRef: { kind: machineConfig.kind, name: machineConfig.name },
    machineDeploymentLabels: { ...spec.labels },
    ...(spec.autoReplaceSeconds ? { unhealthyNodeTimeout: toDuration(spec.autoReplaceSeconds) } : {}),
  };
}

/** `unhealthyNodeTimeout` is a `metav1.Duration`: `600s` (rancher-212.md §3.1). */
export const toDuration = (seconds: number): string => `${seconds}s`;

/** Whether a machine pool is the one a Paddock pool record describes (by its label, else its name). */
export function isPaddockPool(p: MachinePool, poolId: string): boolean {
  return p.machineDeploymentLabels?.[PADDOCK_LABELS.poolId] === poolId;
}
