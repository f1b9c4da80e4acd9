/**
 * Boots Paddock for a test file: a fresh Postgres database, its own Redis key prefix, the HTTP
 * API in-process on a random port, and workers either in-process or as child processes (so a
 * test can SIGKILL one). Everything talks over real connections; nothing is mocked.
 */
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createApi, prepareDatabase, startWorker } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { createPaddockClient, type PaddockClient, type Schemas } from '../../cli/api/client';
import { type TestSimulator, waitFor as pollUntil } from './simulator';

/** How long a child API process may take to answer `/healthz` before the test gives up on it. */
const API_START_TIMEOUT_MS = 120_000;
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
  /**
   * `in-process` (default), or `child`: the API as its own node process (`dist/src/main.js` with
   * PADDOCK_ROLE=api) on a free port, e.g. to capture its log lines with `captureOutput`.
   */
  api?: 'in-process' | 'child';
  /** Keep child processes' stdout/stderr (read them with `output()`) instead of inheriting them. */
  captureOutput?: boolean;
  /** Use this database (created and migrated if needed) instead of a fresh one, e.g. to restart. */
  database?: string;
  /** Leave the database in place on `close()` (so another `startPaddock` can reuse it). */
  keepDatabase?: boolean;
  /** Redis key prefix of the queues; a fresh one per start by default. */
  queuePrefix?: string;
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
  /** The database's name (pass it as `database` to start another Paddock on it). */
  database: string;
  /** Starts one more worker child process (only with `workers: 'child'`). */
  spawnWorker(): ChildProcess;
  /** Everything the child processes wrote so far (with `captureOutput`; empty otherwise). */
  output(): string;
  children: ChildProcess[];
  /** The typed client (generated from openapi.json), as the admin or with `token`. */
  client(token?: string): PaddockClient;
  /** Registers a simulator as a backend with flavors for each of its node templates. */
  registerBackend(name: string, sim: TestSimulator, extra?: Record<string, unknown>): Promise<ApiResponse>;
  /**
   * Long-polls an operation until it is final (or fails the test after `timeoutMs`). Typed
   * loosely: its many callers read the answer's fields without the null checks the type asks.
   */
  waitForOperation(id: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

export async function startPaddock(options: PaddockOptions = {}): Promise<TestPaddock> {
  const suffix = randomBytes(5).toString('hex');
  const database = options.database ?? `paddock_t_${suffix}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: `${ROOT_DATABASE_URL}/${database}`,
    REDIS_URL: `${REDIS_BASE_URL}/${options.redisDb ?? 0}`,
    PADDOCK_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    PADDOCK_QUEUE_PREFIX: options.queuePrefix ?? `t${suffix}`,
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

  const workers: INestApplicationContext[] = [];
  const children: ChildProcess[] = [];
  const captured: string[] = [];
  const spawnChild = (script: string, extraEnv: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', script)], {
      env: { ...process.env, ...env, ...extraEnv },
      stdio: [
        'ignore',
        options.captureOutput ? 'pipe' : 'inherit',
        options.captureOutput ? 'pipe' : 'inherit',
      ],
    });
    if (options.captureOutput) {
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => captured.push(chunk));
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => captured.push(chunk));
    }
    children.push(child);
    return child;
  };
  const spawnWorker = () => spawnChild('worker.js');

  let app: INestApplication | undefined;
  let url: string;
  if (options.api === 'child') {
    const port = await freePort();
    const child = spawnChild('main.js', { PADDOCK_ROLE: 'api', PORT: String(port) });
    url = `http://127.0.0.1:${port}`;
    await pollUntil(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`API child exited with ${child.exitCode}: ${captured.join('')}`);
        return (await fetch(`${url}/healthz`).catch(() => null))?.status === 200 || undefined;
      },
      { what: 'the API child to answer /healthz', timeoutMs: API_START_TIMEOUT_MS, intervalMs: 100 },
    );
  } else {
    app = await createApi({ ...config, role: 'api' });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }
  if ((options.workers ?? 'in-process') === 'in-process')
    workers.push(await startWorker({ ...config, role: 'worker' }));
  if (options.workers === 'child') spawnWorker();

  // No automatic Idempotency-Key: tests that exercise keys send their own, and count them.
  const client = (token = TEST_ADMIN_TOKEN) => createPaddockClient({ url, token, idempotencyKey: false });

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
    database,
    spawnWorker,
    output: () => captured.join(''),
    children,
    client,
    async registerBackend(name, sim, extra = {}) {
      const { data, error, response } = await client().POST('/v1/admin/backends', {
        body: { ...backendRegistration(name, sim), ...extra } as Schemas['RegisterBackendDto'],
      });
      return { status: response.status, body: data ?? error, headers: response.headers };
    },
    async waitForOperation(id, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { data, response } = await client().GET('/v1/operations/{operation}', {
          params: { path: { operation: id }, query: { waitSeconds: 5 } },
        });
        if (!data) throw new Error(`GET operation ${id} → ${response.status}`);
        if (data.state !== 'pending' && data.state !== 'running') return data;
        if (Date.now() > deadline)
          throw new Error(`operation ${id} still ${data.state}: ${JSON.stringify(data.steps)}`);
      }
    },
    async close() {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const worker of workers) await worker.close();
      await app?.close();
      const keys = await scanKeys(redis, `${config.queuePrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await db.end();
      if (options.keepDatabase) return;
      const admin = new Client({ connectionString: `${ROOT_DATABASE_URL}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A TCP port nobody listens on right now (for a child API). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
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

/** The flavors a test registers on an rke2 backend, each an OpenStack machine-config template. */
export const RKE2_TEST_FLAVORS = ['m1.small', 'm1.large', 'm1.xlarge'];

/** The backend kind a simulator is registered as: `rke2` from Rancher 2.12 on (no RKE1 there). */
export function kindOf(sim: { version?: string }): 'rke1' | 'rke2' {
  const m = /^v?(\d+)\.(\d+)/.exec(sim.version ?? '');
  return m && (Number(m[1]) > 2 || (Number(m[1]) === 2 && Number(m[2]) >= 12)) ? 'rke2' : 'rke1';
}

/**
 * The registration body of a simulator: on rke1 its node templates become flavors; on rke2 the
 * test flavors become machine-config templates, with the simulator's OpenStack cloud credential.
 */
export function backendRegistration(name: string, sim: TestSimulator & { version?: string }) {
  const common = { name, url: sim.url, token: sim.token, capacity: { maxClusters: 1000, maxNodes: 100000 } };
  if (kindOf(sim) === 'rke1') {
    return {
      ...common,
      kind: 'rke1',
      flavors: Object.fromEntries(sim.nodeTemplates.map((t) => [t.name, { nodeTemplateId: t.id }])),
    };
  }
  return {
    ...common,
    kind: 'rke2',
    // The OpenStack credential the simulator made at start (registration checks it exists).
    cloudCredential: sim.cloudCredentials.find((c) => c.driver === 'openstack')?.id ?? 'none',
    flavors: Object.fromEntries(
      RKE2_TEST_FLAVORS.map((f) => [
        f,
        { machineConfig: { kind: 'OpenstackConfig', fields: { flavorName: f, imageName: 'ubuntu-22.04' } } },
      ]),
    ),
  };
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

// ---------------------------------------------------------------------------------------------
// Access: tokens, members, and extra API processes against the same database

/** `Authorization` for an API token (use `{ authorization: '' }` for no token at all). */
export const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** Issues a token through the admin API; returns its secret and id. */
export async function issueToken(
  paddock: TestPaddock,
  body: { subject: string; role: 'admin' | 'member' | 'ci'; project?: string; expiresAt?: string },
): Promise<{ secret: string; id: string }> {
  const response = await paddock.request('POST', '/v1/admin/tokens', body);
  if (response.status !== 201)
    throw new Error(`POST /v1/admin/tokens → ${response.status} ${JSON.stringify(response.body)}`);
  return { secret: response.body.secret, id: response.body.id };
}

/** Adds a project member through the admin API. */
export async function addMember(paddock: TestPaddock, project: string, subject: string): Promise<void> {
  const response = await paddock.request('POST', `/v1/admin/projects/${project}/members`, { subject });
  if (response.status !== 201)
    throw new Error(`add member → ${response.status} ${JSON.stringify(response.body)}`);
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * One more API replica as a separate node process (`dist/src/main.js`, `PADDOCK_ROLE=api`), on
 * its own port, sharing this test's database, Redis and queue prefix.
 */
export async function startApiProcess(
  paddock: TestPaddock,
  extraEnv: Record<string, string> = {},
): Promise<ApiProcess> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as AddressInfo;
      server.close(() => resolve(free));
    });
  });
  const child = spawn(process.execPath, [join(__dirname, '..', '..', 'src', 'main.js')], {
    env: {
      ...process.env,
      ...paddock.env,
      PADDOCK_ROLE: 'api',
      PADDOCK_SIMULATORS: '0',
      PORT: String(port),
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  paddock.children.push(child);
  const url = `http://127.0.0.1:${port}`;
  // A bound on a broken start only: on a shared, loaded machine a Nest process can take over 30 s
  // to answer, and the test then measures nothing about the start.
  const deadline = Date.now() + API_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`API process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('API process did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}
