/**
 * An embedded S3-compatible store for a test file (the one `npm start` runs), with a client of
 * its own for asserting on buckets and objects through the real S3 API.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { startEmbeddedS3, type EmbeddedS3 } from '../../src/dev/embedded-s3';

export interface TestS3 extends EmbeddedS3 {
  /** Paddock's environment for this store (with a bucket prefix of the test's own). */
  env: Record<string, string>;
  bucketExists(bucket: string): Promise<boolean>;
  /** Every bucket the store holds. */
  buckets(): Promise<string[]>;
  /** Keys and sizes of a bucket's objects. */
  objects(bucket: string): Promise<Array<{ key: string; size: number }>>;
  deleteObject(bucket: string, key: string): Promise<void>;
  ensureBucket(bucket: string): Promise<void>;
  /** Every request the store received since the last `clearRequests`, oldest first. */
  requests(): S3Request[];
  clearRequests(): void;
}

/** One request to the store: `HEAD /bucket`, `PUT /bucket/key`, `GET /bucket?list-type=2`… */
export interface S3Request {
  method: string;
  path: string;
  query: string;
}

export async function startTestS3(): Promise<TestS3> {
  const suffix = randomBytes(4).toString('hex');
  let seen: S3Request[] = [];
  const store = await startEmbeddedS3({
    accessKeyId: `test-access-${suffix}`,
    secretAccessKey: `test-secret-${randomBytes(12).toString('hex')}`,
    onRequest: (req) => {
      const url = new URL(req.url ?? '/', 'http://s3');
      seen.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1) });
    },
  });
  const client = new S3Client({
    endpoint: store.endpoint,
    region: store.region,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 },
  });
  return {
    ...store,
    env: {
      PADDOCK_S3_ENDPOINT: store.endpoint,
      PADDOCK_S3_REGION: store.region,
      PADDOCK_S3_ACCESS_KEY_ID: store.accessKeyId,
      PADDOCK_S3_SECRET_ACCESS_KEY: store.secretAccessKey,
      PADDOCK_S3_TIMEOUT_MS: '1000',
      PADDOCK_BACKUP_BUCKET_PREFIX: `t-${suffix}`,
    },
    async bucketExists(bucket) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return false;
        throw error;
      }
    },
    async buckets() {
      const answer = await client.send(new ListBucketsCommand({}));
      return (answer.Buckets ?? []).map((b) => b.Name ?? '');
    },
    async objects(bucket) {
      const answer = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (answer.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0 }));
    },
    async deleteObject(bucket, key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async ensureBucket(bucket) {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
    },
    requests: () => [...seen],
    clearRequests: () => {
      seen = [];
    },
    async close() {
      client.destroy();
      await store.close();
    },
  };
}
