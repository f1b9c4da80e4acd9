import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface EmbeddedS3 {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Where the buckets live on disk. */
  directory: string;
  /** Stops answering; the data stays (so `start` again on the same port serves it). */
  stop(): Promise<void>;
  /** Answers again on the same port, with the same data. */
  start(): Promise<void>;
  /** Stops and removes the data. */
  close(): Promise<void>;
}

export interface EmbeddedS3Options {
  /** Preferred port; a free one when it is taken (default: a free one). */
  port?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** An existing folder to keep the data in (default: a new temporary one, removed on close). */
  directory?: string;
  /** Sees every request the store receives (tests count the S3 traffic with it). */
  onRequest?: (request: IncomingMessage) => void;
}

/**
 * Development and tests only: an S3-compatible store (s3rver) in this process, with its data in
 * a temporary folder. It accepts only the access key id given here (another one is refused with
 * `InvalidAccessKeyId`, as real S3 does), but it does not verify SigV4 signatures, so a wrong
 * secret with the right key id goes through: the real S3 of docker-compose.yml checks both.
 */
export async function startEmbeddedS3(options: EmbeddedS3Options = {}): Promise<EmbeddedS3> {
  const { default: S3rver } = (await import('s3rver')) as unknown as { default: typeof import('s3rver') };
  const account = await import('s3rver/lib/models/account');
  const accessKeyId = options.accessKeyId ?? 'paddock-dev';
  const secretAccessKey = options.secretAccessKey ?? 'paddock-dev-secret';
  // s3rver accepts the key pairs of its one account; the configured pair is added to it.
  account.DUMMY_ACCOUNT.createKeyPair(accessKeyId, secretAccessKey);
  const ownDirectory = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), 'paddock-s3-')));
  // s3rver reports a taken port as an unhandled 'error' event, so the port is tried first.
  let port = options.port && (await portIsFree(options.port)) ? options.port : 0;
  let server: InstanceType<typeof S3rver> | null = null;
  const start = async () => {
    if (server) return;
    const instance = new S3rver({ address: '127.0.0.1', port, silent: true, directory });
    port = (await instance.run()).port;
    if (options.onRequest)
      (instance as unknown as { httpServer: Server }).httpServer.on('request', options.onRequest);
    server = instance;
  };
  const stop = async () => {
    const running = server;
    server = null;
    if (running) await running.close();
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    directory,
    start,
    stop,
    async close() {
      await stop();
      if (ownDirectory) await rm(directory, { recursive: true, force: true });
    },
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
