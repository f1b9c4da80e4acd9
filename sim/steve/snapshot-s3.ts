/**
 * What RKE2/K3s do with a provisioning cluster's `rkeConfig.etcd.s3` target (rancher-212.md §5.2):
 * the S3 fields win over the cloud credential's `default*` values, the bucket must exist
 * (`bucket %s does not exist`, no create), each S3 snapshot is uploaded into it with the
 * credential's keys, and a restore reads it back. The S3 calls are the rke1 path's (sim/s3.ts).
 */
import { isPlainObject } from '../http';
import {
  deleteSnapshot,
  downloadSnapshot,
  s3Reason,
  uploadSnapshot,
  validateS3Target,
  type S3Target,
} from '../s3';
import type { World } from '../world';

/**
 * Where k3s's S3 client connects (k3s pkg/etcd/s3/s3.go: `minio.New(endpoint, {Secure:
 * !etcd-s3-insecure})`; minio-go utils.go `getEndpointURL`): a bare `host[:port]` gets `https://`
 * (`http://` when insecure); a URL keeps its scheme only when it agrees with Secure, otherwise the
 * client is never made. Rancher's S3 block cannot say insecure: only `etcd-s3-insecure` in the
 * cluster's `machineGlobalConfig` does.
 */
export function k3sEndpointUrl(endpoint: string, insecure: boolean): string | { error: string } {
  const host = endpoint === '' ? 's3.amazonaws.com' : endpoint;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host)?.[1]?.toLowerCase();
  if (scheme === undefined) return `${insecure ? 'http' : 'https'}://${host}`;
  if (scheme !== 'http' && scheme !== 'https')
    return {
      error: `Endpoint url scheme "${scheme}" is unsupported; use http or https or omit the scheme.`,
    };
  if ((scheme === 'https') === insecure)
    return {
      error: `Endpoint url scheme "${scheme}" conflicts with the secure option; remove the scheme from the endpoint or align the secure option.`,
    };
  if (/^[a-z]+:\/\/[^/]+\/./i.test(host)) return { error: 'Endpoint url cannot have fully qualified paths.' };
  return host;
}

/** Whether the cluster's config.yaml would carry `etcd-s3-insecure: true` (planner/config.go `addUserConfig`). */
export function s3InsecureOf(rkeConfig: Record<string, unknown>): boolean {
  const global = isPlainObject(rkeConfig.machineGlobalConfig) ? rkeConfig.machineGlobalConfig : {};
  const value = global['etcd-s3-insecure'];
  return value === true || value === 'true';
}

/** The target an `rkeConfig.etcd.s3` block resolves to, or the error RKE2 reports for it. */
export function v2S3Target(
  world: World,
  s3: Record<string, unknown>,
  insecure: boolean,
): S3Target | { error: string } {
  const ref = typeof s3.cloudCredentialName === 'string' ? s3.cloudCredentialName : '';
  let cred: Record<string, unknown> = {};
  if (ref !== '') {
    // A bare name is looked up in the cluster's namespace, where Paddock's credentials never are.
    const stored = ref.includes(':') ? world.cloudCredentials.table.get(ref) : undefined;
    if (!stored || stored.removed !== undefined)
      return {
        error: `failed to lookup etcdSnapshotCloudCredentialName: secrets "${ref.slice(ref.indexOf(':') + 1)}" not found`,
      };
    cred = isPlainObject(stored.fields.s3credentialConfig) ? stored.fields.s3credentialConfig : {};
  }
  const first = (own: unknown, fallback: unknown) =>
    typeof own === 'string' && own !== '' ? own : typeof fallback === 'string' ? fallback : '';
  const target: S3Target = {
    endpoint: first(s3.endpoint, cred.defaultEndpoint),
    region: first(s3.region, cred.defaultRegion) || 'us-east-1',
    bucket: first(s3.bucket, cred.defaultBucket),
    folder: first(s3.folder, cred.defaultFolder),
    accessKey: first(undefined, cred.accessKey),
    secretKey: first(undefined, cred.secretKey),
  };
  if (target.bucket === '') return { error: 's3 bucket name was not set' };
  const url = k3sEndpointUrl(target.endpoint, insecure);
  if (typeof url !== 'string') return { error: `failed to get etcd S3 client: ${url.error}` };
  return { ...target, endpoint: url };
}

/**
 * Uploads one S3 snapshot: null with its size when it landed, or the message the snapshot object
 * carries when it did not (a missing bucket is checked first, as k3s `GetClient` does).
 */
export async function uploadV2Snapshot(
  target: S3Target,
  file: string,
  clusterState: string,
): Promise<{ size: number } | { error: string }> {
  const check = await validateS3Target(target);
  if (check !== null) {
    // `validateS3Target` words it as Rancher's RKE1 store does; k3s words its own bucket check.
    const reason = check.replace(/^Unable to validate S3 backup target configuration: /, '');
    return {
      error: check.includes('not found')
        ? `failed to get etcd S3 client: bucket ${target.bucket} does not exist`
        : `failed to get etcd S3 client: failed to test for existence of bucket ${target.bucket}: ${reason}`,
    };
  }
  try {
    return { size: await uploadSnapshot(target, file, { name: file, clusterState }) };
  } catch (error) {
    return { error: `failed to upload etcd snapshot ${file} to s3: ${s3Reason(error)}` };
  }
}

/** Reads a snapshot back for a restore: null when it can be restored, else the failure. */
export async function readBackV2Snapshot(target: S3Target, file: string): Promise<string | null> {
  try {
    await downloadSnapshot(target, file);
    return null;
  } catch (error) {
    return `failed to download etcd snapshot ${file} from s3: ${s3Reason(error)}`;
  }
}

/** A pruned snapshot leaves the bucket; a failed delete leaves the object, as k3s only logs it. */
export async function deleteV2Snapshot(target: S3Target, file: string): Promise<void> {
  await deleteSnapshot(target, file).catch(() => undefined);
}
