/**
 * Boots Paddock for a test file: a fresh Postgres database, its own Redis key prefix, the HTTP
 * API in-process on a random port, and workers either in-process or as child processes (so a
 * test can SIGKILL one). Everything talks over real connections; nothing is mocked.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createApi, prepareDatabase, startWorker } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { type TestSimulator, waitFor as pollUntil } from './simulator';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghij';
const ROOT_DATABASE_URL = process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_BASE_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface PaddockOptions {
  /** Extra environment for the Paddock config (e.g. a short deadline). */
  env?: Record<string, string>;
  /** `in-process` (default), `child` (a separate node process per worker), or `none`. */
  workers?: 'in-process' | 'child' | 'none';
  /** Redis database number; give a test that wipes Redis a database of its own. */
  redisDb?: number;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestPaddock {
  url: string;
  config: AppConfig;
  env: Record<string, string>;
  /** A direct connection to this test's database, for asserting on rows. */
  db: Client;
  redis: Redis;
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  /** Starts one more worker child process (only with `workers: 'child'`). */
  spawnWorker(): ChildProcess;
  children: ChildProcess[];
  /** Registers a simulator as a backend with flavors for each of its node templates. */
  registerBackend(name: string, sim: TestSimulator, extra?: Record<string, unknown>): Promise<ApiResponse>;
  /** Polls an operation until it is final (or fails the test after `timeoutMs`). */
  waitForOperation(id: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export async function startPaddock(options: PaddockOptions = {}): Promise<TestPaddock> {
  const suffix = randomBytes(5).toString('hex');
  const database = `paddock_t_${suffix}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: `${ROOT_DATABASE_URL}/${database}`,
    REDIS_URL: `${REDIS_BASE_URL}/${options.redisDb ?? 0}`,
    PADDOCK_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    PADDOCK_QUEUE_PREFIX: `t${suffix}`,
    PADDOCK_SIMULATORS: '0',
    PADDOCK_SYNC_PERIOD_MS: '300',
    PADDOCK_SWEEP_PERIOD_MS: '1000',
    PADDOCK_OPERATION_LEASE_MS: '3000',
    PADDOCK_RANCHER_TIMEOUT_MS: '1000',
    PADDOCK_OPERATION_DEADLINE_MS: '30000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    PORT: '0',
    ...options.env,
  };
  const config = loadConfig(env);
  await prepareDatabase(config);
  const db = new Client({ connectionString: config.databaseUrl });
  await db.connect();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });

  const app: INestApplication = await createApi({ ...config, role: 'api' });
  await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

  const workers: INestApplicationContext[] = [];
  const children: ChildProcess[] = [];
  const spawnWorker = () => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', 'worker.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(child);
    return child;
  };
  if ((options.workers ?? 'in-process') === 'in-process')
    workers.push(await startWorker({ ...config, role: 'worker' }));
  if (options.workers === 'child') spawnWorker();

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const parsed = type.includes('json') && text !== '' ? JSON.parse(text) : text;
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  return {
    url,
    config,
    env,
    db,
    redis,
    request,
    spawnWorker,
    children,
    registerBackend: (name, sim, extra = {}) =>
      request('POST', '/v1/admin/backends', {
        name,
        url: sim.url,
        token: sim.token,
        kind: 'rke1',
        capacity: { maxClusters: 1000, maxNodes: 100000 },
        flavors: Object.fromEntries(sim.nodeTemplates.map((t) => [t.name, { nodeTemplateId: t.id }])),
        ...extra,
      }),
    async waitForOperation(id, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const response = await request<any>('GET', `/v1/operations/${id}?waitSeconds=5`);
        if (response.status !== 200) throw new Error(`GET operation ${id} → ${response.status}`);
        if (response.body.state === 'succeeded' || response.body.state === 'failed') return response.body;
        if (Date.now() > deadline)
          throw new Error(
            `operation ${id} still ${response.body.state}: ${JSON.stringify(response.body.steps)}`,
          );
      }
    },
    async close() {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const worker of workers) await worker.close();
      await app.close();
      const keys = await scanKeys(redis, `${config.queuePrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await db.end();
      const admin = new Client({ connectionString: `${ROOT_DATABASE_URL}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** A valid create body: one control-plane pool and one worker pool. */
export function clusterBody(name: string, overrides: Record<string, unknown> = {}) {
  return {
    name,
    nodePools: [
      { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
      { name: 'workers', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
    ],
    ...overrides,
  };
}

/** Polls `check` until it returns something truthy (see `waitFor` in ./simulator). */
export function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  return pollUntil(async () => (await check()) || undefined, {
    what,
    timeoutMs,
    intervalMs: 100,
  }) as Promise<T>;
}
