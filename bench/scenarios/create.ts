/**
 * Scenario 1, create acceptance: POST /v1/projects/{p}/clusters (202) at 1, 10 and 50 concurrent
 * clients, beside a floor route in the same framework that inserts one row in one transaction.
 * The API runs without a worker (role `api`): what is measured is the acceptance path alone.
 * `BENCH_CPU_PROF=<dir>` starts the API under `node --cpu-prof` (see bench/profile-summary.ts).
 */
import {
  ADMIN_TOKEN,
  DURATION_S,
  Measured,
  ScenarioResult,
  createDatabase,
  freePort,
  load,
  paddockClient,
  ratio,
  startApi,
  startProcess,
  startSim,
  table,
  describeFailures,
} from '../support';

const CONCURRENCY = (process.env.BENCH_CREATE_CLIENTS ?? '1,10,50').split(',').map(Number);

export const createBody = (prefix: string) => (i: number) => ({
  name: `${prefix}-${i}`,
  nodePools: [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: 3, flavor: 'm1.large' },
    { name: 'workers', roles: ['worker'], quantity: 5, flavor: 'm1.large' },
  ],
});

export async function createScenario(): Promise<ScenarioResult> {
  const db = await createDatabase();
  const sim = await startSim();
  const profDir = process.env.BENCH_CPU_PROF;
  const api = await startApi(db.url, `benchc${db.name.slice(-8)}`, {
    nodeArgs: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [],
  });
  const floorPort = await freePort();
  const floor = await startProcess(
    'bench/floor-server.js',
    { DATABASE_URL: db.url, PORT: String(floorPort) },
    `http://127.0.0.1:${floorPort}/floor/ping`,
  );
  try {
    const paddock = paddockClient(api.url);
    await paddock.registerBackend('bench-sim', sim);
    const { quota } = await paddock.createProject('bench');

    const rows: Array<{ clients: number; create: Measured; floor: Measured }> = [];
    for (const clients of CONCURRENCY) {
      const floorResult = await load({
        url: `http://127.0.0.1:${floorPort}/floor`,
        method: 'POST',
        connections: clients,
        body: createBody(`f${clients}`),
      });
      const createResult = await load({
        url: `${api.url}/v1/projects/bench/clusters`,
        method: 'POST',
        connections: clients,
        body: createBody(`c${clients}`),
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      rows.push({ clients, create: createResult, floor: floorResult });
    }
    const ok = rows.every((r) => r.create.non2xx + r.create.errors === 0);
    const md = table(
      [
        'clients',
        'create p50 ms',
        'create p99 ms',
        'create req/s',
        'floor p50 ms',
        'floor p99 ms',
        'floor req/s',
        'p50 ratio',
        'p99 ratio',
        'req/s ratio',
        'non-2xx / errors',
      ],
      rows.map((r) => [
        r.clients,
        r.create.p50,
        r.create.p99,
        r.create.rps,
        r.floor.p50,
        r.floor.p99,
        r.floor.rps,
        ratio(r.create.p50, r.floor.p50),
        ratio(r.create.p99, r.floor.p99),
        ratio(r.create.rps, r.floor.rps),
        `${r.create.non2xx + r.floor.non2xx}${r.create.non2xx > 0 ? ` [${describeFailures(r.create.failures)}]` : ''} / ${r.create.errors + r.floor.errors}${r.create.non2xx + r.create.errors > 0 ? ' ✗' : ''}`,
      ]),
    );
    return {
      key: 'createAcceptance',
      title: `Create acceptance — POST /v1/projects/{p}/clusters → 202 (${DURATION_S} s per point; API without worker; floor = bare Nest route inserting one row in one transaction; quota: ${quota})`,
      markdown: md,
      data: rows,
      ok,
    };
  } finally {
    await api.stop();
    await floor.stop();
    await sim.stop();
    await db.drop();
  }
}
