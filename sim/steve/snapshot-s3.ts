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

/** The target an `rkeConfig.etcd.s3` block resolves to, or the error RKE2 reports for it. */
export function v2S3Target(world: World, s3: Record<string, unknown>): S3Target | { error: string } {
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
  return target;
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
