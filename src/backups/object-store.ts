/**
 * The S3 API, through the AWS SDK v3, as the backup steps need it: buckets looked up before they
 * are made, emptied before they are removed, objects listed a page at a time. Every call is
 * bounded by the configured timeout and fails with an `ObjectStoreError` whose message names the
 * call and the bucket but never the keys.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { S3Settings } from '../config/app-config';

export type ObjectStoreErrorKind = 'unavailable' | 'denied' | 'invalid' | 'conflict' | 'not-found';

export class ObjectStoreError extends Error {
  constructor(
    readonly kind: ObjectStoreErrorKind,
    readonly operation: string,
    message: string,
  ) {
    super(`S3 ${operation}: ${message}`);
  }

  /** Whether trying again later can help (the store was down or slow, not a refusal). */
  get retryable(): boolean {
    return this.kind === 'unavailable';
  }
}

export const isObjectStoreError = (error: unknown): error is ObjectStoreError =>
  error instanceof ObjectStoreError;

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date | null;
}

/** S3's bucket naming rules: 3-63 characters of a-z, 0-9, `-` and `.`, starting and ending alphanumeric. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function bucketNameFor(prefix: string, clusterId: string): string {
  const name = `${prefix}-${clusterId.toLowerCase()}`;
  if (!BUCKET_NAME.test(name) || name.includes('..')) throw new Error(`invalid bucket name ${name}`);
  return name;
}

export class ObjectStore {
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      // Path-style (`<endpoint>/<bucket>`): what S3-compatible stores answer without wildcard DNS.
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      // Checksums only where S3 demands them: compatible stores reject the newer trailer forms.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs },
    });
  }

  /** Where snapshots go, as Rancher is told (the endpoint without its scheme for RKE1 is the driver's business). */
  get endpoint(): string {
    return this.settings.endpoint;
  }

  async bucketExists(bucket: string): Promise<boolean> {
    try {
      await this.call('HeadBucket', bucket, () =>
        this.client.send(new HeadBucketCommand({ Bucket: bucket })),
      );
      return true;
    } catch (error) {
      if (isObjectStoreError(error) && error.kind === 'not-found') return false;
      throw error;
    }
  }

  /** Makes the bucket unless it exists; a bucket this account already owns counts as made. */
  async ensureBucket(bucket: string): Promise<void> {
    if (await this.bucketExists(bucket)) return;
    try {
      await this.call('CreateBucket', bucket, () =>
        this.client.send(new CreateBucketCommand({ Bucket: bucket })),
      );
    } catch (error) {
      // A retry of a create whose answer was lost finds the bucket made by the first attempt.
      if (isObjectStoreError(error) && error.kind === 'conflict' && (await this.bucketExists(bucket))) return;
      throw error;
    }
  }

  /** Every object of the bucket, one page (1,000 keys) per call. */
  async *objectPages(bucket: string, prefix?: string): AsyncGenerator<StoredObject[]> {
    let token: string | undefined;
    do {
      const page = await this.call('ListObjectsV2', bucket, () =>
        this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        ),
      );
      yield (page.Contents ?? []).map((o) => ({
        key: o.Key ?? '',
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? null,
      }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Empties the bucket, then removes it; a bucket that is already gone is fine. */
  async removeBucket(bucket: string): Promise<void> {
    if (!(await this.bucketExists(bucket))) return;
    for await (const page of this.objectPages(bucket)) {
      if (page.length === 0) continue;
      await this.call('DeleteObjects', bucket, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: page.map((o) => ({ Key: o.key })), Quiet: true },
          }),
        ),
      );
    }
    try {
      await this.call('DeleteBucket', bucket, () =>
        this.client.send(new DeleteBucketCommand({ Bucket: bucket })),
      );
    } catch (error) {
      if (!(isObjectStoreError(error) && error.kind === 'not-found')) throw error;
    }
  }

  close(): void {
    this.client.destroy();
  }

  private async call<T>(operation: string, bucket: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toObjectStoreError(`${operation} ${bucket}`, error);
    }
  }
}

/** S3's answer (or the lack of one) in a few kinds the steps act on. */
export function toObjectStoreError(operation: string, error: unknown): ObjectStoreError {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata?.httpStatusCode ?? 0;
    const code = error.name;
    const message = `${code} (HTTP ${status || 'none'})`;
    if (status === 404 || code === 'NoSuchBucket' || code === 'NotFound')
      return new ObjectStoreError('not-found', operation, message);
    if (code === 'BucketAlreadyOwnedByYou' || code === 'BucketAlreadyExists' || status === 409)
      return new ObjectStoreError('conflict', operation, message);
    if (
      status === 401 ||
      status === 403 ||
      /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/.test(code)
    )
      return new ObjectStoreError('denied', operation, `${message}: the configured S3 keys are refused`);
    if (status >= 500 || status === 429 || code === 'SlowDown')
      return new ObjectStoreError('unavailable', operation, message);
    return new ObjectStoreError('invalid', operation, message);
  }
  const err = error as { name?: string; code?: string; message?: string };
  // No answer: refused connection, DNS, a timeout of the request handler.
  const reason = err.code ?? err.name ?? 'error';
  return new ObjectStoreError('unavailable', operation, `no answer from the store (${reason})`);
}
