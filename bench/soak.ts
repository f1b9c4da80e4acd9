/**
 * A bounded soak: mixed traffic against real API and worker processes and a simulator, on
 * loopback, for SOAK_SECONDS (300). Creates, reads, lists, scales, deletes, dry runs (some with
 * an Idempotency-Key), long-polls (some abandoned), and hostile requests (NUL bytes, deep JSON,
 * nulls, anonymous floods). Prints latency percentiles, the status counts (5xx must be 0), API
 * and worker RSS over time, and whether every operation ended.
 *
 *   node dist/bench/soak.js            SOAK_SECONDS=300 SOAK_CLIENTS=8
 */
import 'reflect-metadata';
import {
  ADMIN_TOKEN,
  cleanupAll,
  createDatabase,
  paddockClient,
  pg,
  rssMiB,
  sleep,
  startApi,
  startSim,
  startWorker,
} from './support';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 8);

const pools = [
  { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
  { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
];

async function main(): Promise<void> {
  const db = await createDatabase();
  const sim = await startSim();
  const prefix = `bsk${Date.now().toString(36)}`;
  const api = await startApi(db.url, prefix, {
    env: { PADDOCK_RATE_LIMIT_PER_TOKEN: '100000', PADDOCK_RATE_LIMIT_PER_PROJECT: '1000000' },
  });
  const worker = startWorker(db.url, prefix, { PADDOCK_SYNC_PERIOD_MS: '2000' });
  const admin = paddockClient(api.url);
  await admin.registerBackend('sim-1', sim);
  await admin.createProject('soak');
  await admin.call('POST', '/v1/admin/projects/soak/members', { subject: 'soaker' });
  const token = await admin.call('POST', '/v1/admin/tokens', {
    subject: 'soaker',
    role: 'member',
    project: 'soak',
  });
  const member = { authorization: `Bearer ${String(token.body.secret)}` };

  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  const failures: string[] = [];
  const send = async (
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = member,
    abortAfterMs?: number,
  ): Promise<{ status: number; body: unknown } | null> => {
    const started = performance.now();
    try {
      const response = await fetch(`${api.url}${path}`, {
        method,
        headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
        signal: AbortSignal.timeout(abortAfterMs ?? 30_000),
      });
      const text = await response.text();
      latencies.push(performance.now() - started);
      const key = String(response.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (response.status >= 500)
        failures.push(`${method} ${path} → ${response.status} ${text.slice(0, 200)}`);
      return { status: response.status, body: text ? (JSON.parse(text) as unknown) : null };
    } catch (error) {
      const key = (error as Error).name === 'TimeoutError' && abortAfterMs ? 'abandoned' : 'network-error';
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      return null;
    }
  };

  const live: string[] = [];
  const recentOperations: string[] = [];
  let seq = 0;
  const actions: Array<() => Promise<unknown>> = [
    async () => {
      const name = `s-${(seq++).toString(36)}`;
      const r = await send('POST', '/v1/projects/soak/clusters', JSON.stringify({ name, nodePools: pools }));
      if (r?.status === 202) {
        live.push(name);
        const operationId = (r.body as { operation: { id: string } }).operation.id;
        recentOperations.unshift(operationId);
        recentOperations.length = Math.min(recentOperations.length, 20);
        await send('GET', `/v1/operations/${operationId}?waitSeconds=5`);
      }
    },
    () => send('GET', '/v1/projects/soak/clusters?limit=20'),
    () =>
      send('GET', `/v1/projects/soak/clusters/${live[Math.floor(Math.random() * live.length)] ?? 'none'}`),
    () => send('GET', '/v1/projects/soak/quota'),
    () =>
      send('POST', '/v1/projects/soak/clusters:plan', JSON.stringify({ name: 'plan', nodePools: pools }), {
        ...member,
        ...(Math.random() < 0.5 ? { 'idempotency-key': `plan-${seq++}` } : {}),
      }),
    async () => {
      const name = live[Math.floor(Math.random() * live.length)];
      if (name)
        await send(
          'PATCH',
          `/v1/projects/soak/clusters/${name}/node-pools/workers`,
          JSON.stringify({ quantity: 2 }),
        );
    },
    async () => {
      const name = live.shift();
      if (name) await send('DELETE', `/v1/projects/soak/clusters/${name}`);
    },
    () => send('GET', `/v1/operations/00000000-0000-4000-8000-000000000000?waitSeconds=2`),
    // An abandoned long-poll on a live operation.
    async () => {
      const id = recentOperations[0];
      if (id) await send('GET', `/v1/operations/${id}?waitSeconds=30`, undefined, member, 500);
    },
    // Hostile ones: all must be 4xx.
    () => send('GET', '/v1/projects/so%00ak/clusters'),
    () => send('POST', '/v1/projects/soak/clusters', `${'['.repeat(20_000)}${']'.repeat(20_000)}`),
    () =>
      send('PATCH', '/v1/admin/backends/sim-1', JSON.stringify({ flavors: null }), {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      }),
    () =>
      send('POST', '/v1/admin/projects', '{"name":"x"}', {
        authorization: 'Bearer pdk_nope_nope_nope_nope_nope',
      }),
  ];

  const samples: Array<{ at: number; apiRssMiB: number; workerRssMiB: number }> = [];
  const started = Date.now();
  const deadline = started + SECONDS * 1000;
  const sampler = setInterval(() => {
    samples.push({
      at: Math.round((Date.now() - started) / 1000),
      apiRssMiB: rssMiB(api.pid),
      workerRssMiB: rssMiB(worker.pid),
    });
  }, 15_000);
  samples.push({ at: 0, apiRssMiB: rssMiB(api.pid), workerRssMiB: rssMiB(worker.pid) });
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline) await actions[Math.floor(Math.random() * actions.length)]();
    }),
  );
  clearInterval(sampler);
  samples.push({
    at: Math.round((Date.now() - started) / 1000),
    apiRssMiB: rssMiB(api.pid),
    workerRssMiB: rssMiB(worker.pid),
  });

  // Every operation must end: give the worker a bounded time to finish what is in flight.
  const check = await pg(db.url);
  const unfinished = async () =>
    Number(
      (
        await check.query<{ n: string }>(
          `SELECT count(*) AS n FROM operations WHERE state IN ('pending', 'running')`,
        )
      ).rows[0].n,
    );
  const drainDeadline = Date.now() + 120_000;
  while ((await unfinished()) > 0 && Date.now() < drainDeadline) await sleep(1000);
  const operations = (
    await check.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM operations GROUP BY state`,
    )
  ).rows;

  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]);
  console.log(
    JSON.stringify(
      {
        seconds: SECONDS,
        clients: CLIENTS,
        requests: latencies.length,
        p50Ms: pct(50),
        p99Ms: pct(99),
        statuses: Object.fromEntries([...statuses].sort()),
        fiveXX: failures.length,
        firstFailures: failures.slice(0, 5),
        operations: Object.fromEntries(operations.map((r) => [r.state, Number(r.n)])),
        unfinishedOperations: await unfinished(),
        rss: samples,
      },
      null,
      2,
    ),
  );
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
