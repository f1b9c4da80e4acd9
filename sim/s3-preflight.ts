import { ApiError, errorResponse, isPlainObject, type SimResponse } from './http';
import { s3TargetOf, validateS3Target } from './s3';
import type { World } from './world';

const CLUSTERS = /^\/v3\/clusters?\/?$/i;
const CLUSTER = /^\/v3\/clusters?\/([^/]+)$/i;

/**
 * `cluster_store.go` `validateS3Credentials` on create and update (rancher-212.md §5.5): with keys
 * given, the bucket must exist, or the request is a 500 `ServerError` and nothing is written.
 * Null when the request goes on to the store.
 */
export async function s3Preflight(
  world: World,
  method: string,
  path: string,
  query: URLSearchParams,
  body: string,
): Promise<SimResponse | null> {
  const create = method === 'POST' && CLUSTERS.test(path) && !query.has('action');
  const update = method === 'PUT' && CLUSTER.exec(path);
  if (!create && !update) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null; // the router answers the malformed body
  }
  const config = s3ConfigIn(parsed);
  if (!config) return null;
  // A PUT merges into the stored spec (§2.9), and may leave the secret out: Rancher keeps the
  // one it moved into a secret (§3.1). What is checked is the target the cluster would have.
  const existing = update ? world.clusters.table.get(decodeURIComponent(update[1])) : undefined;
  const stored = existing ? world.clusters.s3Target(existing) : undefined;
  const target = s3TargetOf({ ...stored, ...config }, existing?.hidden.s3SecretKey as string | undefined);
  if (!target) return null;
  const failure = await validateS3Target(target);
  return failure === null ? null : errorResponse(new ApiError(500, 'ServerError', failure));
}

function s3ConfigIn(body: unknown): Record<string, unknown> | null {
  if (!isPlainObject(body)) return null;
  const rke = body.rancherKubernetesEngineConfig;
  if (!isPlainObject(rke) || !isPlainObject(rke.services) || !isPlainObject(rke.services.etcd)) return null;
  const backup = rke.services.etcd.backupConfig;
  if (!isPlainObject(backup) || !isPlainObject(backup.s3BackupConfig)) return null;
  return backup.s3BackupConfig;
}
