/**
 * The norman `/v3` routes the rke1 driver uses and its request helpers: a read that answers null
 * for "absent", an idempotent delete, the envelope check, and the errors it raises itself.
 */

import { BackendError, isBackendError } from '../backend.errors';
import { RancherClient, fillRoute } from '../rancher-client';
import { isResource } from '../wire/v3.types';

export const ROUTES = {
  nodeTemplate: '/v3/nodetemplates/:id',
  clusters: '/v3/clusters',
  cluster: '/v3/clusters/:id',
  nodePools: '/v3/nodepools',
  nodePool: '/v3/nodepools/:id',
  nodes: '/v3/nodes',
  node: '/v3/nodes/:id',
  etcdBackups: '/v3/etcdbackups',
  etcdBackup: '/v3/etcdbackups/:id',
} as const;

/** The backend's refusal of a change (a 500 of the cluster store, §3.4): `invalid`, not retryable. */
export function refused(
  client: RancherClient,
  method: BackendError['method'],
  path: string,
  detail: string,
): BackendError {
  return new BackendError({
    kind: 'invalid',
    retryable: false,
    backend: client.backend,
    method,
    path,
    status: 500,
    detail,
  });
}

export function gone(client: RancherClient, method: BackendError['method'], path: string): BackendError {
  return new BackendError({
    kind: 'not-found',
    retryable: false,
    backend: client.backend,
    method,
    path,
    status: 404,
    detail: 'the cluster is not on the backend',
  });
}

export async function getOrNull<T>(
  client: RancherClient,
  route: string,
  id: string,
  opts: { forbiddenMeansGone?: boolean } = {},
): Promise<T | null> {
  try {
    const res = await client.request<T>({ method: 'GET', route, params: { id } });
    return resource(client, res.data, 'GET', fillRoute(route, { id })) as T;
  } catch (error) {
    if (isBackendError(error)) {
      if (error.kind === 'not-found') return null;
      if (opts.forbiddenMeansGone && error.kind === 'forbidden') return null;
    }
    throw error;
  }
}

export async function deleteIdempotent(client: RancherClient, route: string, id: string): Promise<void> {
  try {
    // 200 (now `removing`) and 204 (already gone) both mean the delete is under way or done.
    await client.request({ method: 'DELETE', route, params: { id }, idempotent: true });
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return;
    throw error;
  }
}

export function resource<T>(
  client: RancherClient,
  data: T,
  method: BackendError['method'],
  path: string,
): T & { id: string } {
  if (!isResource(data)) throw client.unexpected({ method, path }, 'expected a v3 resource with an id');
  return data as T & { id: string };
}
