/**
 * What Rancher and rke-tools do with a cluster's S3 backup target (rancher-api.md §3.1, §6;
 * rancher-212.md §5.5): check the bucket exists when keys are given (a create or update whose
 * bucket is missing is a 500), upload each snapshot as a zip into the bucket, delete rotated ones,
 * and read one back to restore. Everything goes to the real S3 API named by the cluster's
 * `s3BackupConfig`, with its keys: wrong keys or a missing bucket fail as they would for Rancher.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { unzipSync, zipSync } from 'fflate';
import { isPlainObject } from './http';

/** `s3-bucket-check-timeout` is 30 s in Rancher; a simulator answers sooner. */
const S3_TIMEOUT_MS = 5_000;

export interface S3Target {
  endpoint: string;
  region: string;
  bucket: string;
  folder: string;
  accessKey: string;
  secretKey: string;
}

/** The target of an `s3BackupConfig`, with the secret Rancher moved out of the spec. */
export function s3TargetOf(config: unknown, secretKey: string | undefined): S3Target | null {
  if (!isPlainObject(config)) return null;
  const str = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    endpoint: str(config.endpoint),
    region: str(config.region) || 'us-east-1',
    bucket: str(config.bucketName),
    folder: str(config.folder),
    accessKey: str(config.accessKey),
    secretKey: str(config.secretKey) || (secretKey ?? ''),
  };
}

/** rke-tools takes the endpoint with or without a scheme; without one it speaks HTTPS. */
function endpointUrl(endpoint: string): string {
  if (endpoint === '') return 'https://s3.amazonaws.com';
  return /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`;
}

const clients = new Map<string, S3Client>();

function clientFor(target: S3Target): S3Client {
  const key = JSON.stringify([target.endpoint, target.region, target.accessKey, target.secretKey]);
  let client = clients.get(key);
  if (!client) {
    client = new S3Client({
      endpoint: endpointUrl(target.endpoint),
      region: target.region,
      forcePathStyle: true,
      credentials: { accessKeyId: target.accessKey, secretAccessKey: target.secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
      requestHandler: { connectionTimeout: S3_TIMEOUT_MS, requestTimeout: S3_TIMEOUT_MS },
    });
    clients.set(key, client);
  }
  return client;
}

/** Closes every client (the simulator is closing). */
export function closeS3Clients(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}

/** A short reason, as the Go S3 client (minio-go) would print it. */
export function s3Reason(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const messages: Record<string, string> = {
      NoSuchBucket: 'The specified bucket does not exist',
      NoSuchKey: 'The specified key does not exist.',
      NotFound: 'Not Found',
      InvalidAccessKeyId: 'The Access Key Id you provided does not exist in our records.',
      SignatureDoesNotMatch:
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      AccessDenied: 'Access Denied.',
    };
    const status = error.$metadata?.httpStatusCode;
    // A HEAD answer has no body to name the error: minio-go reports a 403 as access denied.
    if (messages[error.name] === undefined && status === 403) return 'Access Denied.';
    return messages[error.name] ?? `${error.name} (HTTP ${status ?? '?'})`;
  }
  const err = error as { code?: string; message?: string };
  // TLS spoken to a plain HTTP port: Go's client says so in these words.
  if (
    err.code === 'EPROTO' ||
    err.code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    /wrong version number/.test(err.message ?? '')
  )
    return 'http: server gave HTTP response to HTTPS client';
  return err.code ? `dial tcp: ${err.code}` : (err.message ?? String(error));
}

/**
 * `validateS3Credentials` of `cluster_store.go`: an error message for a 500, or null when the
 * bucket is there (or no keys are given: IAM, which Rancher does not check).
 */
export async function validateS3Target(target: S3Target): Promise<string | null> {
  if (target.accessKey === '' && target.secretKey === '') return null;
  if (target.bucket === '') return 'Empty bucket name';
  try {
    await clientFor(target).send(new HeadBucketCommand({ Bucket: target.bucket }));
    return null;
  } catch (error) {
    const status = error instanceof S3ServiceException ? error.$metadata?.httpStatusCode : undefined;
    if (status === 404 || (error instanceof S3ServiceException && error.name === 'NoSuchBucket'))
      return `Unable to validate S3 backup target configuration: bucket [${target.bucket}] not found`;
    return `Unable to validate S3 backup target configuration: ${s3Reason(error)}`;
  }
}

const objectKey = (target: S3Target, file: string) => (target.folder ? `${target.folder}/${file}` : file);

/**
 * The snapshot as rke-tools uploads it: `<file>.zip` holding the etcd snapshot (here a small
 * stand-in database file and the cluster state RKE keeps beside it).
 */
export async function uploadSnapshot(
  target: S3Target,
  file: string,
  snapshot: { name: string; clusterState: string },
): Promise<number> {
  const zip = zipSync({
    [file.replace(/\.zip$/, '')]: new TextEncoder().encode(`etcd snapshot ${snapshot.name}\n`),
    [`${file.replace(/\.zip$/, '')}.rkestate`]: new TextEncoder().encode(snapshot.clusterState),
  });
  await clientFor(target).send(
    new PutObjectCommand({ Bucket: target.bucket, Key: objectKey(target, file), Body: zip }),
  );
  return zip.length;
}

/** Reads the snapshot back and checks it is the zip that was written; throws with the reason otherwise. */
export async function downloadSnapshot(target: S3Target, file: string): Promise<void> {
  const answer = await clientFor(target).send(
    new GetObjectCommand({ Bucket: target.bucket, Key: objectKey(target, file) }),
  );
  const bytes = await answer.Body?.transformToByteArray();
  if (!bytes) throw new Error('empty snapshot object');
  const entries = unzipSync(bytes);
  if (!entries[file.replace(/\.zip$/, '')]) throw new Error(`snapshot ${file} holds no etcd snapshot`);
}

export async function deleteSnapshot(target: S3Target, file: string): Promise<void> {
  await clientFor(target).send(
    new DeleteObjectCommand({ Bucket: target.bucket, Key: objectKey(target, file) }),
  );
}
