import type { BackendDriver, NodePoolCreateSpec, RemoteCluster } from '../../rancher-backends/backend-driver';
import { PADDOCK_LABELS } from '../../rancher-backends/backend-driver';
import { hostnamePrefixFor } from '../cluster-names';
import type { ClusterRecord, NodePoolRecord } from '../cluster.types';
import type { ClustersRepository } from '../clusters.repository';

/**
 * Finding and removing Paddock's own objects on a backend, shared by the steps that create and
 * delete them. A Rancher id Paddock has not stored yet (an answer lost to a timeout or a crash) is
 * found by name or label, and stored.
 */

/** The backend's cluster of that name, if its label proves it is this one. */
export async function findOwnCluster(
  driver: BackendDriver,
  cluster: ClusterRecord,
): Promise<RemoteCluster | null> {
  const found = await driver.findClusterByName(cluster.rancherName);
  return found && found.labels[PADDOCK_LABELS.clusterId] === cluster.id ? found : null;
}

/** The cluster's Rancher id: stored, or found (and then stored); null when it is not on the backend. */
export async function ownClusterId(
  driver: BackendDriver,
  clusters: ClustersRepository,
  cluster: ClusterRecord,
): Promise<string | null> {
  if (cluster.rancherId) return cluster.rancherId;
  const found = await findOwnCluster(driver, cluster);
  if (found) await clusters.setRancherId(cluster.id, found.id);
  return found?.id ?? null;
}

/** Deletes the pool on the backend if it exists there; returns its Rancher id, if any. */
export async function deleteOwnNodePool(
  driver: BackendDriver,
  clusters: ClustersRepository,
  cluster: ClusterRecord,
  pool: NodePoolRecord,
): Promise<string | null> {
  let remoteId = pool.rancherId;
  if (!remoteId && cluster.rancherId) {
    remoteId =
      (await driver.listNodePools(cluster.rancherId)).find((p) => p.labels[PADDOCK_LABELS.poolId] === pool.id)
        ?.id ?? null;
    if (remoteId) await clusters.setPoolRancherId(pool.id, remoteId);
  }
  if (remoteId) await driver.deleteNodePool(remoteId);
  return remoteId;
}

/** A pool as the driver creates it, with the labels that let a later look-up find it. */
export function poolSpecOf(cluster: ClusterRecord, pool: NodePoolRecord): NodePoolCreateSpec {
  return {
    clusterId: cluster.rancherId ?? '',
    name: pool.name,
    hostnamePrefix: hostnamePrefixFor(cluster.name, pool.name),
    quantity: pool.quantity,
    roles: {
      etcd: pool.roles.includes('etcd'),
      controlPlane: pool.roles.includes('controlplane'),
      worker: pool.roles.includes('worker'),
    },
    nodeTemplateId: pool.nodeTemplateId,
    autoReplaceSeconds: pool.autoReplaceSeconds,
    labels: {
      [PADDOCK_LABELS.managed]: 'true',
      [PADDOCK_LABELS.clusterId]: cluster.id,
      [PADDOCK_LABELS.poolId]: pool.id,
    },
  };
}
