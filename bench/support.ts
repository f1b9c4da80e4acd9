import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { WORKER_NODE_FLAGS } from '../src/config/worker-node-flags';

export const ROOT_DATABASE_URL = process.env.BENCH_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefgh';
export const SIM_TOKEN = 'token-bench:benchsecret0123456789';

/** Seconds of load per measured point (each point is measured for Paddock and for its floor). */
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);

/**
 * The compiled tree whose entry points are started (`dist/` by default). `BENCH_DIST` points at
 * another build, e.g. the previous commit's, to measure before and after with the same script.
 */
const DIST = process.env.BENCH_DIST ?? join(__dirname, '..');

// ---------------------------------------------------------------------------------------------
// Everything started is registered here, so `cleanupAll` can stop it even when a scenario throws.

const cleanups: Array<{ what: string; run: () => Promise<void> }> = [];

export function onCleanup(what: string, run: () => Promise<void>): () => Promise<void> {
  const entry = { what, run };
  cleanups.push(entry);
  return async () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
    await run();
  };
}

/** Runs every registered cleanup, newest first; never throws. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length > 0) {
    const entry = cleanups.pop()!;
    await entry.run().catch((e: unknown) => console.error(`cleanup of ${entry.what} failed:`, e));
  }
}

// ---------------------------------------------------------------------------------------------

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty database; dropped by `drop()` or `cleanupAll()`. */
export async function createDatabase(): Promise<BenchDatabase> {
  const name = `paddock_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: `${ROOT_DATABASE_URL}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const drop = onCleanup(`database ${name}`, async () => {
    const c = new Client({ connectionString: `${ROOT_DATABASE_URL}/postgres` });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.end();
  });
  return { name, url: `${ROOT_DATABASE_URL}/${name}`, drop };
}

export interface Child {
  process: ChildProcess;
  pid: number;
  stop(): Promise<void>;
  /**
   * The process's error-level log lines (pino level ≥ 50: an unexpected error, with its error id),
   * kept when it was started with `stdout: 'errors'`, so a non-2xx in a table can be explained.
   */
  errors: string[];
}

/**
 * Starts a compiled entry point (relative to dist/) as a child process and waits until `readyUrl`
 * answers (or, without one, until `ready()` resolves true).
 */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
  readyUrl: string,
  options: { nodeArgs?: string[]; args?: string[]; stdout?: 'ignore' | 'inherit' | 'errors' } = {},
): Promise<Child> {
  const stdout = options.stdout ?? 'ignore';
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), join(DIST, entry), ...(options.args ?? [])],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', stdout === 'errors' ? 'pipe' : stdout, 'inherit'],
    },
  );
  const errors: string[] = [];
  if (stdout === 'errors' && child.stdout) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        if ((JSON.parse(line) as { level?: number }).level! >= 50) errors.push(line);
      } catch {
        // not a log line
      }
    });
  }
  const stop = onCleanup(`${entry} (pid ${child.pid})`, () => stopProcess(child));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    try {
      if ((await fetch(readyUrl)).status < 500) return { process: child, pid: child.pid!, stop, errors };
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${entry} did not start`);
    await sleep(200);
  }
}

export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** Environment of a Paddock process (API or worker) for one bench database. */
export function paddockEnv(dbUrl: string, prefix: string, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: dbUrl,
    REDIS_URL: REDIS_URL,
    PADDOCK_ADMIN_TOKEN: ADMIN_TOKEN,
    PADDOCK_SIMULATORS: '0',
    PADDOCK_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** Deletes the Redis keys of a queue prefix (BullMQ leaves its queues behind). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const { default: Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Starts the Paddock API (role `api`: no worker in the process) as a child process. */
export async function startApi(
  dbUrl: string,
  prefix: string,
  options: { env?: Record<string, string>; nodeArgs?: string[]; keepErrors?: boolean } = {},
): Promise<Child & { url: string; port: number }> {
  const port = await freePort();
  onCleanup(`redis prefix ${prefix}`, () => dropRedisPrefix(prefix));
  const child = await startProcess(
    'src/main.js',
    paddockEnv(dbUrl, prefix, { PADDOCK_ROLE: 'api', PORT: String(port), ...options.env }),
    `http://127.0.0.1:${port}/healthz`,
    { nodeArgs: options.nodeArgs, stdout: options.keepErrors ? 'errors' : 'ignore' },
  );
  return { ...child, url: `http://127.0.0.1:${port}`, port };
}

/**
 * Starts one worker child (`dist/src/worker.js`) with the Node flags it ships with; it is ready
 * once its first sync has run.
 */
export function startWorker(dbUrl: string, prefix: string, env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, join(DIST, 'src', 'worker.js')], {
    env: { ...process.env, ...paddockEnv(dbUrl, prefix, { PADDOCK_ROLE: 'worker', ...env }) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = onCleanup(`worker (pid ${child.pid})`, () => stopProcess(child));
  return { process: child, pid: child.pid!, stop, errors: [] };
}

export interface SimChild extends Child {
  url: string;
  token: string;
  /** `rke2` for a simulator started as Rancher 2.12 or later (`--version v2.12.x`). */
  kind: 'rke1' | 'rke2';
  /** The m1.large node template (rke1; empty on rke2, which has none). */
  templateId: string;
  /** The simulator's OpenStack cloud credential (`cattle-global-data:cc-xxxxx`). */
  cloudCredential: string;
  /** An authenticated request to the simulator (control API or /v3). */
  request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  calls(): Promise<Array<{ method: string; path: string; status: number }>>;
  clearCalls(): Promise<void>;
}

/** A simulator in its own process (so it does not share the load generator's event loop). */
export async function startSim(extraArgs: string[] = []): Promise<SimChild> {
  const port = await freePort();
  const child = await startProcess('sim/main.js', {}, `http://127.0.0.1:${port}/ping`, {
    args: [
      '--port',
      String(port),
      '--token',
      SIM_TOKEN,
      '--profile',
      'fast',
      '--node-template',
      'm1.large',
      ...extraArgs,
    ],
  });
  const url = `http://127.0.0.1:${port}`;
  const request = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${SIM_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300)
      throw new Error(`simulator ${method} ${path} → ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const version = extraArgs[extraArgs.indexOf('--version') + 1] ?? '';
  const kind = extraArgs.includes('--version') && /^v2\.(1[2-9]|[2-9]\d)\./.test(version) ? 'rke2' : 'rke1';
  let templateId = '';
  // The OpenStack credential the simulator made at start (an rke2 registration checks it).
  const credentials = await request<{ data: Array<{ id: string; name: string }> }>(
    'GET',
    '/v3/cloudcredentials',
  );
  const cloudCredential = credentials.data.find((c) => c.name === 'openstack')?.id ?? '';
  if (kind === 'rke1') {
    const templates = await request<{ data: Array<{ id: string; name: string }> }>(
      'GET',
      '/v3/nodetemplates',
    );
    const template = templates.data.find((t) => t.name === 'm1.large');
    if (!template) throw new Error('simulator has no m1.large node template');
    templateId = template.id;
  }
  return {
    ...child,
    url,
    token: SIM_TOKEN,
    kind,
    templateId,
    cloudCredential,
    request,
    calls: async () =>
      (
        await request<{ calls: Array<{ method: string; path: string; status: number }> }>(
          'GET',
          '/__sim/calls',
        )
      ).calls,
    clearCalls: async () => {
      await request('DELETE', '/__sim/calls');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Paddock admin calls

export function paddockClient(base: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed as Record<string, unknown> & { id: string } };
  };
  return {
    call,
    async registerBackend(name: string, sim: SimChild) {
      const r = await call('POST', '/v1/admin/backends', {
        name,
        url: sim.url,
        token: sim.token,
        capacity: { maxClusters: 100_000, maxNodes: 1_000_000 },
        ...(sim.kind === 'rke1'
          ? { kind: 'rke1', flavors: { 'm1.large': { nodeTemplateId: sim.templateId } } }
          : {
              kind: 'rke2',
              cloudCredential: sim.cloudCredential,
              flavors: {
                'm1.large': {
                  machineConfig: { kind: 'OpenstackConfig', fields: { flavorName: 'm1.large' } },
                },
              },
            }),
      });
      if (r.status !== 201) throw new Error(`backend registration: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { id: string };
    },
    /** Creates a project and raises its quota when the quota endpoint exists (404 → no quotas yet). */
    async createProject(name: string): Promise<{ quota: string }> {
      const r = await call('POST', '/v1/admin/projects', { name });
      if (r.status !== 201) throw new Error(`project ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      return { quota: await raiseQuota(call, name) };
    },
    raiseQuota: (name: string) => raiseQuota(call, name),
  };
}

async function raiseQuota(
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>,
  project: string,
): Promise<string> {
  const q = await call('PUT', `/v1/admin/projects/${project}/quota`, {
    clusters: 1_000_000,
    nodes: 100_000_000,
  });
  if (q.status === 404 || q.status === 405) return 'no quota endpoint';
  if (q.status >= 300) throw new Error(`quota of ${project}: ${q.status} ${JSON.stringify(q.body)}`);
  return 'raised';
}

// ---------------------------------------------------------------------------------------------
// Load

export interface Measured {
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  non2xx: number;
  errors: number;
  /**
   * The non-2xx answers by `<status> <problem code>` (e.g. `503 DATABASE_UNAVAILABLE`), so a
   * failed request in a table says what it was instead of being a bare count.
   */
  failures: Record<string, number>;
}

/** `<status> <code>` of a non-2xx answer, the code read from its problem-details body if it has one. */
function failureKey(status: number, body: string | undefined): string {
  try {
    const code = (JSON.parse(body ?? '') as { code?: unknown }).code;
    return typeof code === 'string' ? `${status} ${code}` : `${status}`;
  } catch {
    return `${status}`;
  }
}

/** `{"503 X": 2}` → `503 X ×2`; empty when there were none. */
export const describeFailures = (failures: Record<string, number>) =>
  Object.entries(failures)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');

/** One autocannon run; `path(i)` and `body(i)` vary each request. */
export async function load(options: {
  url: string;
  connections: number;
  method?: 'GET' | 'POST';
  path?: (i: number) => string;
  body?: (i: number) => unknown;
  headers?: Record<string, string>;
  durationS?: number;
  amount?: number;
}): Promise<Measured> {
  let counter = 0;
  const failures: Record<string, number> = {};
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    connections: options.connections,
    timeout: Number(process.env.BENCH_REQUEST_TIMEOUT_S ?? 30),
    ...(options.amount ? { amount: options.amount } : { duration: options.durationS ?? DURATION_S }),
    headers: {
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    requests: [
      {
        setupRequest: (req: autocannon.Request) => {
          const i = counter++;
          const next: autocannon.Request & { path?: string } = { ...req };
          if (options.path) next.path = options.path(i);
          if (options.body) next.body = JSON.stringify(options.body(i));
          return next;
        },
        onResponse: (status: number, body: string | undefined) => {
          if (status < 200 || status >= 300) {
            const key = failureKey(status, body);
            failures[key] = (failures[key] ?? 0) + 1;
          }
        },
      },
    ],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: Math.round(result.requests.average),
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    failures,
  };
}

// ---------------------------------------------------------------------------------------------

export const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 100) / 100 : NaN);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `fn` over `items`, at most `limit` at a time; results in the order of `items`. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/** Resident set size of a process, in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

export function table(header: string[], rows: Array<Array<string | number>>): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export interface ScenarioResult {
  key: string;
  title: string;
  markdown: string;
  data: unknown;
  ok: boolean;
}

export function pg(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  // A connection Postgres ends (a restart by someone else on a shared machine) must fail the
  // scenario's next query, not crash the bench before its cleanup stops the processes it started.
  c.on('error', (error) => console.error(`bench pg client: ${error.message}`));
  return c.connect().then(() => {
    onCleanup('pg client', () => c.end().catch(() => undefined));
    return c;
  });
}
