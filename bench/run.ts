/**
 * `npm run bench`: measures, side by side in one run on this machine,
 *   1. create acceptance: POST /v1/projects/{p}/clusters (202) at 1, 10 and 50 concurrent clients,
 *      beside a floor route in the same framework that inserts one row in one transaction.
 * Prints a table and writes bench/results/latest.json and latest.md.
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSimulator } from '../sim/simulator';
import { ADMIN_TOKEN, createDatabase, freePort, ratio, startProcess, stopProcess } from './support';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const CONCURRENCY = [1, 10, 50];

interface Measured {
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  non2xx: number;
}

async function load(
  url: string,
  connections: number,
  body: (i: number) => unknown,
  headers: Record<string, string>,
): Promise<Measured> {
  let counter = 0;
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: DURATION_S,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(body(counter++)) }) }],
  });
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    rps: Math.round(result.requests.average),
    requests: result.requests.total,
    non2xx: result.non2xx,
  };
}

async function main(): Promise<void> {
  const db = await createDatabase();
  const sim = await startSimulator({ profile: 'fast', nodeTemplates: [{ name: 'm1.large' }] });
  const apiPort = await freePort();
  const floorPort = await freePort();
  const api = await startProcess(
    'src/main.js',
    {
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      PADDOCK_ADMIN_TOKEN: ADMIN_TOKEN,
      PADDOCK_ROLE: 'api',
      PADDOCK_SIMULATORS: '0',
      PADDOCK_QUEUE_PREFIX: `bench${apiPort}`,
      PORT: String(apiPort),
      LOG_LEVEL: 'warn',
    },
    `http://127.0.0.1:${apiPort}/healthz`,
  );
  const floor = await startProcess(
    'bench/floor-server.js',
    { DATABASE_URL: db.url, PORT: String(floorPort) },
    `http://127.0.0.1:${floorPort}/floor`,
  );
  const base = `http://127.0.0.1:${apiPort}`;
  try {
    await measure(base, floorPort, sim);
  } finally {
    await stopProcess(api);
    await stopProcess(floor);
    await sim.close();
    await db.drop();
  }
}

async function measure(
  base: string,
  floorPort: number,
  sim: Awaited<ReturnType<typeof startSimulator>>,
): Promise<void> {
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const registered = await post('/v1/admin/backends', {
    name: 'bench-sim',
    url: sim.url,
    token: sim.token,
    kind: 'rke1',
    capacity: { maxClusters: 100_000, maxNodes: 1_000_000 },
    flavors: { 'm1.large': { nodeTemplateId: sim.nodeTemplates[0].id } },
  });
  if (registered.status !== 201)
    throw new Error(`backend registration: ${registered.status} ${await registered.text()}`);
  if ((await post('/v1/admin/projects', { name: 'bench' })).status !== 201) throw new Error('project');

  const createBody = (prefix: string) => (i: number) => ({
    name: `${prefix}-${i}`,
    nodePools: [
      { name: 'control', roles: ['etcd', 'controlplane'], quantity: 3, flavor: 'm1.large' },
      { name: 'workers', roles: ['worker'], quantity: 5, flavor: 'm1.large' },
    ],
  });
  const rows: Array<{ clients: number; create: Measured; floor: Measured }> = [];
  for (const clients of CONCURRENCY) {
    const floorResult = await load(
      `http://127.0.0.1:${floorPort}/floor`,
      clients,
      createBody(`f${clients}`),
      {},
    );
    const createResult = await load(
      `${base}/v1/projects/bench/clusters`,
      clients,
      createBody(`c${clients}`),
      auth,
    );
    rows.push({ clients, create: createResult, floor: floorResult });
  }
  const table = [
    '| clients | create p50 ms | create p99 ms | create req/s | floor p50 ms | floor p99 ms | floor req/s | p99 ratio | req/s ratio | non-2xx |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.clients} | ${r.create.p50} | ${r.create.p99} | ${r.create.rps} | ${r.floor.p50} | ${r.floor.p99} | ${r.floor.rps} | ${ratio(r.create.p99, r.floor.p99)} | ${ratio(r.create.rps, r.floor.rps)} | ${r.create.non2xx + r.floor.non2xx} |`,
    ),
  ].join('\n');
  const md = `## Create acceptance (${DURATION_S} s per point, API without worker, one simulated backend)\n\n${table}\n`;
  console.log(md);
  const out = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'latest.json'),
    JSON.stringify(
      { at: new Date().toISOString(), durationSeconds: DURATION_S, createAcceptance: rows },
      null,
      2,
    ),
  );
  writeFileSync(join(out, 'latest.md'), md);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
