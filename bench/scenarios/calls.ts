/**
 * Scenario `calls`: Rancher calls per create and per status-sync cycle, for each backend kind
 * (rke1 on a simulated Rancher 2.9, rke2 on a simulated 2.12), counted from the simulator's call
 * log. A sync cycle is recognised by its node listing (`GET /v3/nodes` on rke1, `GET
 * /v1/cluster.x-k8s.io.machines/fleet-default` on rke2), which nothing else calls; each cycle makes
 * three list calls on rke1 and four on rke2, whose nodes' conditions come from a list of Rancher's
 * management Nodes (one page each here). The health probe's calls (its own period)
 * are counted apart. The calls of a create are those of its window minus the sync cycles' lists
 * and the probes that ran meanwhile.
 */
import {
  ADMIN_TOKEN,
  ScenarioResult,
  createDatabase,
  paddockClient,
  sleep,
  startApi,
  startSim,
  startWorker,
  table,
} from '../support';

const KINDS = {
  rke1: {
    version: 'v2.9.3',
    nodeList: '/v3/nodes',
    listsPerCycle: 3,
    probe: ['/ping', '/v3/settings/server-version', '/v3/settings/k8s-versions-current'],
  },
  rke2: {
    version: 'v2.12.3',
    nodeList: '/v1/cluster.x-k8s.io.machines/fleet-default',
    listsPerCycle: 4,
    probe: ['/ping', '/v3/settings/server-version', '/v1-rke2-release/releases', '/v1-k3s-release/releases'],
  },
} as const;
const CLUSTERS = Number(process.env.BENCH_CALLS_CLUSTERS ?? 20);
const WINDOW_MS = 5_000;

type Call = { method: string; path: string; status: number };
const key = (c: Call) =>
  `${c.method} ${c.path.replace(/^(\/v3\/[a-z]+)\/[^/]+/, '$1/:id').replace(/^(\/v1\/[a-z0-9.-]+\/fleet-default)\/[^/]+$/, '$1/:name')}`;

function tally(calls: Call[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[key(c)] = (out[key(c)] ?? 0) + 1;
  return out;
}

async function measure(kind: keyof typeof KINDS) {
  /** List calls of one sync cycle: nodes, pools, clusters (rke2 lists its clusters for both of the
   * latter, and Rancher's management Nodes before its machines). */
  const { version, nodeList, listsPerCycle, probe } = KINDS[kind];
  const isProbe = (c: Call) => c.method === 'GET' && (probe as readonly string[]).includes(c.path);
  const db = await createDatabase();
  const sim = await startSim(['--version', version]);
  const prefix = `benchc${db.name.slice(-8)}`;
  const env = { PADDOCK_SYNC_PERIOD_MS: '1000' };
  const api = await startApi(db.url, prefix, { env });
  const worker = startWorker(db.url, prefix, env);
  try {
    const paddock = paddockClient(api.url);
    await paddock.registerBackend(`calls-${kind}`, sim);
    await paddock.createProject('calls');
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as { operation: { id: string }; state?: string; error?: unknown },
      };
    };
    const create = async (name: string) => {
      const r = await call('POST', '/v1/projects/calls/clusters', {
        name,
        nodePools: [
          { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
          { name: 'workers', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
        ],
      });
      if (r.status !== 202) throw new Error(`create ${name}: ${r.status} ${JSON.stringify(r.body)}`);
      for (;;) {
        const op = await call('GET', `/v1/operations/${r.body.operation.id}?waitSeconds=10`);
        if (op.body.state === 'succeeded') return;
        if (op.body.state === 'failed')
          throw new Error(`create ${name} failed: ${JSON.stringify(op.body.error)}`);
      }
    };
    const cycleCalls = async () => {
      await sim.clearCalls();
      await sleep(WINDOW_MS);
      const calls = await sim.calls();
      const cycles = calls.filter((c) => c.method === 'GET' && c.path === nodeList).length;
      const sync = calls.filter((c) => !isProbe(c));
      return {
        cycles,
        calls: calls.length,
        perCycle: sync.length / Math.max(cycles, 1),
        probeCalls: calls.length - sync.length,
        byKind: tally(calls),
      };
    };

    await sleep(1500);
    const idle = await cycleCalls();
    await sim.clearCalls();
    await create('calls-0');
    const createLog = await sim.calls();
    const createCycles = createLog.filter((c) => c.method === 'GET' && c.path === nodeList).length;
    const oneCluster = await cycleCalls();
    const writes = createLog.filter((c) => c.method !== 'GET');
    const createOnly = createLog.filter((c) => !isProbe(c)).length - createCycles * listsPerCycle;
    for (let i = 1; i < CLUSTERS; i++) await create(`calls-${i}`);
    const many = await cycleCalls();
    return {
      kind,
      version,
      idle,
      oneCluster,
      many,
      writes: tally(writes),
      createCalls: createOnly,
      createCycles,
    };
  } finally {
    await worker.stop();
    await api.stop();
    await sim.stop();
    await db.drop();
  }
}

export async function callsScenario(): Promise<ScenarioResult> {
  const results = [await measure('rke1'), await measure('rke2')];
  const round = (n: number) => Math.round(n * 10) / 10;
  const md = table(
    ['figure', ...results.map((r) => `${r.kind} (simulated Rancher ${r.version})`)],
    [
      ['Rancher writes per create (2 pools)', ...results.map((r) => JSON.stringify(r.writes))],
      [
        'Rancher calls per create (2 pools), sync cycles excluded',
        ...results.map((r) => round(r.createCalls)),
      ],
      ['calls per sync cycle, no cluster (probe calls apart)', ...results.map((r) => round(r.idle.perCycle))],
      ['calls per sync cycle, 1 cluster', ...results.map((r) => round(r.oneCluster.perCycle))],
      [`calls per sync cycle, ${CLUSTERS} clusters`, ...results.map((r) => round(r.many.perCycle))],
      [
        `sync calls by kind (${CLUSTERS} clusters, ${WINDOW_MS / 1000} s)`,
        ...results.map((r) => JSON.stringify(r.many.byKind)),
      ],
    ],
  );
  return {
    key: 'calls',
    title: 'Rancher calls per create and per sync cycle, by backend kind',
    markdown: md,
    data: { results },
    ok: results.every((r) => Object.values(r.writes).reduce((a, b) => a + b, 0) === 3),
  };
}
