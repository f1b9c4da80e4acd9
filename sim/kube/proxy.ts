/**
 * Rancher's per-cluster proxy `/k8s/clusters/<id>/…` (rancher-api.md §7.1; `pkg/clusterrouter`).
 * Authentication happened before (the same 401 as `/v3`). The router's own failures are a JSON
 * encoding of norman's Go `APIError` struct, not the `/v3` envelope, and carry no JSON content
 * type because Rancher sets it after writing the status line (rancher-212.md, "When the downstream
 * agent is disconnected"). Everything else is the downstream kube-apiserver's answer.
 */
import type { SimResponse } from '../http';
import { isTrue } from '../state';
import type { World } from '../world';
import { handleKubeApi, type KubeRequest } from './api';

export function handleClusterProxy(world: World, request: KubeRequest): SimResponse {
  const match = /^\/k8s\/clusters\/([^/]+)(\/.*)?$/.exec(request.path);
  let id = match?.[1] ?? '';
  try {
    id = decodeURIComponent(id);
  } catch {
    // An undecodable id names no cluster.
  }
  const cluster = match ? world.clusters.table.get(id) : undefined;
  if (!cluster) return routerError(404, 'NotFound', `clusters.management.cattle.io "${id}" not found`);
  // Rancher checks Provisioned; once provisioned, a cluster whose agent is not connected ends in
  // a dialer timeout there (~30 s, then 500). The simulator answers that case at once, also 503.
  if (!isTrue(cluster.conditions, 'Provisioned')) {
    return routerError(503, 'ClusterUnavailable', 'cluster not provisioned');
  }
  if (!isTrue(cluster.conditions, 'Ready'))
    return routerError(503, 'ClusterUnavailable', 'cluster agent disconnected');
  const ctx = { world, cluster, objects: world.kube.forCluster(cluster) };
  return handleKubeApi(ctx, { ...request, path: match?.[2] || '/' });
}

/** `clusterrouter.response`: `json.Encoder` output of `httperror.APIError`, newline included. */
function routerError(status: number, code: string, message: string): SimResponse {
  const body = { Code: { Code: code, Status: status }, Message: message, Cause: null, FieldName: '' };
  return { status, body: `${JSON.stringify(body)}\n` };
}
