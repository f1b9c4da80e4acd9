/**
 * The steve `/v1` (and the few norman `/v3`) routes the rke2 driver uses, and its request helpers:
 * reading the provisioning cluster, updating it with the `resourceVersion` read (§9.1), quiet
 * deletes, id parsing and the errors the driver raises itself.
 */

import { BackendError, isBackendError } from '../backend.errors';
import { RancherClient } from '../rancher-client';
import { ProvisioningCluster, isSteveObject, splitClusterId, splitPoolId } from '../wire/v1.types';

export const ROUTES = {
  defaultVersion: '/v3/settings/rke2-default-version',
  rke2Releases: '/v1-rke2-release/releases',
  k3sReleases: '/v1-k3s-release/releases',
  machineConfigs: '/v1/rke-machine-config.cattle.io.:type',
  machineConfigsIn: '/v1/rke-machine-config.cattle.io.:type/:namespace',
  machineConfig: '/v1/rke-machine-config.cattle.io.:type/:namespace/:name',
  clusters: '/v1/provisioning.cattle.io.clusters',
  clustersIn: '/v1/provisioning.cattle.io.clusters/:namespace',
  cluster: '/v1/provisioning.cattle.io.clusters/:namespace/:name',
  machinesIn: '/v1/cluster.x-k8s.io.machines/:namespace',
  managementNodes: '/v1/management.cattle.io.nodes',
  machine: '/v1/cluster.x-k8s.io.machines/:namespace/:name',
  snapshotsIn: '/v1/rke.cattle.io.etcdsnapshots/:namespace',
  snapshot: '/v1/rke.cattle.io.etcdsnapshots/:namespace/:name',
  controlPlane: '/v1/rke.cattle.io.rkecontrolplanes/:namespace/:name',
  cloudCredentials: '/v3/cloudcredentials',
  cloudCredential: '/v3/cloudcredentials/:id',
  twins: '/v3/clusters',
} as const;

/** A cluster update that keeps losing to other writers gives up after this many reads. */
const UPDATE_ATTEMPTS = 5;

/**
 * Read, change, write with the `resourceVersion` read; on 409 (someone wrote in between) read
 * again and redo the change. `change` returns false when the object already says what it should
 * (an earlier attempt landed), and nothing is written. Null when the cluster is gone.
 */
export async function updateCluster(
  client: RancherClient,
  id: string,
  change: (cluster: ProvisioningCluster) => boolean,
): Promise<ProvisioningCluster | null> {
  const ref = clusterRef(client, id);
  for (let attempt = 1; ; attempt++) {
    const current = await readCluster(client, id);
    if (!current) return null;
    const next = structuredClone(current);
    delete (next as { links?: unknown }).links;
    next.spec ??= {};
    next.spec.rkeConfig ??= {};
    if (!change(next)) return current;
    try {
      const res = await client.request<ProvisioningCluster>({
        method: 'PUT',
        route: ROUTES.cluster,
        params: ref,
        body: next,
        // Not resent as is: a 409 needs a fresh read, which this loop does.
        idempotent: false,
      });
      return steveObject(client, res.data, 'PUT', id);
    } catch (error) {
      if (isBackendError(error) && error.kind === 'conflict' && attempt < UPDATE_ATTEMPTS) continue;
      throw error;
    }
  }
}

export async function readCluster(client: RancherClient, id: string): Promise<ProvisioningCluster | null> {
  const ref = splitClusterId(id);
  if (!ref) return null;
  try {
    const res = await client.request<ProvisioningCluster>({
      method: 'GET',
      route: ROUTES.cluster,
      params: ref,
    });
    return steveObject(client, res.data, 'GET', id);
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return null;
    throw error;
  }
}

export async function deleteQuietly(
  client: RancherClient,
  route: string,
  params: Record<string, string>,
): Promise<void> {
  try {
    // 200 (now being removed) and 204 (gone) both mean the delete is under way or done.
    await client.request({ method: 'DELETE', route, params, idempotent: true });
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return;
    throw error;
  }
}

export function clusterRef(client: RancherClient, id: string): { namespace: string; name: string } {
  const ref = splitClusterId(id);
  if (!ref) throw client.unexpected({ method: 'GET', path: id }, 'not a provisioning cluster id');
  return ref;
}

export function poolRef(client: RancherClient, id: string): { clusterId: string; pool: string } {
  const ref = splitPoolId(id);
  if (!ref) throw client.unexpected({ method: 'GET', path: id }, 'not a machine pool id');
  return ref;
}

export function machineRef(client: RancherClient, id: string): { namespace: string; name: string } {
  const ref = splitClusterId(id);
  if (!ref) throw client.unexpected({ method: 'GET', path: id }, 'not a machine id');
  return ref;
}

export function gone(client: RancherClient, method: BackendError['method'], path: string): BackendError {
  return new BackendError({
    kind: 'not-found',
    retryable: false,
    backend: client.backend,
    method,
    path,
    detail: 'the cluster or its pool is gone from the backend',
  });
}

export function steveObject<T>(
  client: RancherClient,
  data: T,
  method: BackendError['method'],
  path: string,
): T {
  if (!isSteveObject(data))
    throw client.unexpected({ method, path }, 'expected a steve object with metadata');
  return data;
}
