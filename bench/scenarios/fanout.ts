/**
 * Scenario 3, fan-out (`fanout` on rke1 backends, `fanout-rke2` on rke2 backends: simulated
 * Rancher 2.12, steve /v1, where the happy path is one machine-config POST per pool plus one
 * provisioning-cluster POST): 1,000 creates (two pools each) across three simulators with fast timings,
 * run by real worker processes. Time until every cluster is `active`, clusters per second, and
 * Rancher calls per create by kind from the simulators' call logs. The happy path must be exactly
 * one `POST /v3/clusters` plus one `POST /v3/nodepools` per pool; the table marks ✗ otherwise.
 * Floor, measured after on the same simulators: the same 1,000 clusters created straight on /v3
 * with only the happy-path POSTs (a 403 of the permission window retried every 100 ms) and the
 * same concurrency, then waited for with list calls — what a script without Paddock would do,
 * with no durability, quota, placement or look-ups.
 */
import { toClusterCreate, toNodePoolCreate } from '../../src/rancher-backends/wire/v3.types';
import {
  ADMIN_TOKEN,
  ScenarioResult,
  SimChild,
  createDatabase,
  describeFailures,
  load,
  paddockClient,
  pg,
  ratio,
  sleep,
  startApi,
  startSim,
  startWorker,
  table,
} from '../support';

const CREATES = Number(process.env.BENCH_FANOUT_CREATES ?? 1000);
const WORKERS = Number(process.env.BENCH_FANOUT_WORKERS ?? 2);
const CLIENTS = Number(process.env.BENCH_FANOUT_CLIENTS ?? 20);
const TIMEOUT_S = Number(process.env.BENCH_FANOUT_TIMEOUT_S ?? 300);
const SYNC_PERIOD_MS = process.env.BENCH_FANOUT_SYNC_PERIOD_MS ?? '1000';
const POOLS = 2;

const body = (i: number) => ({
  name: `fan-${i}`,
  nodePools: [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
    { name: 'workers', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
  ],
});

/** `/v3/nodepools/c-x:np-y` → `/v3/nodepools/:id`; `/v1/<type>/fleet-default/x` → `/v1/<type>/:id`. */
const kindOf = (method: string, path: string) =>
  `${method} ${path.replace(/^(\/v3\/[a-z]+)\/[^/]+/, '$1/:id').replace(/^(\/v1\/[a-z0-9.-]+)\/fleet-default\/[^/]+$/, '$1/:id')}`;

type BackendKind = 'rke1' | 'rke2';
const RKE2_VERSION = 'v2.12.3';
const CLUSTER_POST = { rke1: 'POST /v3/clusters', rke2: 'POST /v1/provisioning.cattle.io.clusters' };
const POOL_POST = {
  rke1: 'POST /v3/nodepools',
  rke2: 'POST /v1/rke-machine-config.cattle.io.openstackconfigs',
};

async function tallyCalls(sims: SimChild[]) {
  const byKind: Record<string, { calls: number; non2xx: number }> = {};
  for (const sim of sims)
    for (const call of await sim.calls()) {
      const k = kindOf(call.method, call.path);
      byKind[k] ??= { calls: 0, non2xx: 0 };
      byKind[k].calls++;
      if (call.status >= 300) byKind[k].non2xx++;
    }
  return byKind;
}

/** How one kind's floor creates a cluster straight on the simulator, and counts its active ones. */
interface DirectCreates {
  /** Creates cluster `i` on `sim`; returns the POSTs it took. */
  create(sim: SimChild, i: number): Promise<number>;
  /** How many of the floor's clusters `sim` reports active. */
  active(sim: SimChild): Promise<number>;
}

/** rke2: P machine configs and one provisioning cluster per create, straight on /v1. */
const DIRECT_RKE2: DirectCreates = {
  async create(sim, i) {
    let posts = 0;
    const machinePools = [];
    for (const [p, pool] of body(i).nodePools.entries()) {
      const config = await sim.request<{ metadata: { name: string } }>(
        'POST',
        '/v1/rke-machine-config.cattle.io.openstackconfigs',
        {
          kind: 'OpenstackConfig',
          metadata: { generateName: `nc-direct-${i}-${p}-`, namespace: 'fleet-default' },
          flavorName: 'm1.large',
        },
      );
      posts++;
      machinePools.push({
        name: pool.name,
        quantity: pool.quantity,
        etcdRole: p === 0,
        controlPlaneRole: p === 0,
        workerRole: p !== 0,
        machineConfigRef: { kind: 'OpenstackConfig', name: config.metadata.name },
      });
    }
    await sim.request('POST', '/v1/provisioning.cattle.io.clusters', {
      metadata: { name: `direct-${i}`, namespace: 'fleet-default', labels: { bench: 'direct' } },
      spec: { kubernetesVersion: 'v1.31.9+rke2r1', rkeConfig: { machinePools } },
    });
    posts++;
    return posts;
  },
  async active(sim) {
    const list = await sim.request<{
      data: Array<{ metadata: { labels?: Record<string, string>; state?: { name?: string } } }>;
    }>('GET', '/v1/provisioning.cattle.io.clusters');
    return list.data.filter(
      (c) => c.metadata.labels?.bench === 'direct' && c.metadata.state?.name === 'active',
    ).length;
  },
};

/** rke1: one cluster, then one pool per create (retried through the permission window), on /v3. */
const DIRECT_RKE1: DirectCreates = {
  async create(sim, i) {
    let posts = 0;
    const cluster = await sim.request<{ id: string }>(
      'POST',
      '/v3/clusters',
      toClusterCreate({ name: `direct-${i}`, labels: { bench: 'direct' } }),
    );
    posts++;
    for (const [p, pool] of body(i).nodePools.entries()) {
      const spec = toNodePoolCreate({
        clusterId: cluster.id,
        hostnamePrefix: `direct-${i}-${p}-`,
        quantity: pool.quantity,
        roles: { etcd: p === 0, controlPlane: p === 0, worker: p !== 0 },
        nodeTemplateId: sim.templateId,
        labels: { bench: 'direct' },
      });
      for (;;) {
        const res = await fetch(`${sim.url}/v3/nodepools`, {
          method: 'POST',
          headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(spec),
        });
        await res.text();
        posts++;
        if (res.status === 201) break;
        if (res.status !== 403) throw new Error(`direct floor: POST /v3/nodepools → ${res.status}`);
        await sleep(100);
      }
    }
    return posts;
  },
  async active(sim) {
    const list = await sim.request<{ data: Array<{ state: string; labels?: Record<string, string> }> }>(
      'GET',
      '/v3/clusters?limit=10000',
    );
    return list.data.filter((c) => c.labels?.bench === 'direct' && c.state === 'active').length;
  },
};

/** The floor: the same creates sent straight to the simulators by CLIENTS clients, until all are active. */
async function directFloor(
  sims: SimChild[],
  kind: DirectCreates,
): Promise<{ seconds: number; posts: number }> {
  const started = performance.now();
  let next = 0;
  let posts = 0;
  const client = async () => {
    for (let i = next++; i < CREATES; i = next++) {
      // Awaited first: `posts += await …` would read `posts` before the other clients add theirs.
      const made = await kind.create(sims[i % sims.length], i);
      posts += made;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const deadline = Date.now() + TIMEOUT_S * 1000;
  for (;;) {
    let active = 0;
    for (const sim of sims) active += await kind.active(sim);
    if (active >= CREATES) break;
    if (Date.now() > deadline)
      throw new Error(`direct floor: ${active}/${CREATES} active after ${TIMEOUT_S} s`);
    await sleep(250);
  }
  return { seconds: (performance.now() - started) / 1000, posts };
}

export async function fanoutScenario(backendKind: BackendKind = 'rke1'): Promise<ScenarioResult> {
  const db = await createDatabase();
  const simArgs = backendKind === 'rke2' ? ['--version', RKE2_VERSION] : [];
  const sims = [await startSim(simArgs), await startSim(simArgs), await startSim(simArgs)];
  const prefix = `benchx${db.name.slice(-8)}`;
  const env = { PADDOCK_SYNC_PERIOD_MS: SYNC_PERIOD_MS, PADDOCK_SWEEP_PERIOD_MS: '2000' };
  const api = await startApi(db.url, prefix, { env, keepErrors: true });
  const workers = Array.from({ length: WORKERS }, () => startWorker(db.url, prefix, env));
  const client = await pg(db.url);
  try {
    const paddock = paddockClient(api.url);
    for (const [i, sim] of sims.entries()) await paddock.registerBackend(`fan-${i + 1}`, sim);
    const { quota } = await paddock.createProject('fanout');
    await sleep(1000);
    for (const sim of sims) await sim.clearCalls();

    const started = performance.now();
    const accepted = await load({
      url: `${api.url}/v1/projects/fanout/clusters`,
      method: 'POST',
      connections: CLIENTS,
      amount: CREATES,
      body,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const acceptedS = (performance.now() - started) / 1000;
    // Printed at once as well: a run cut short still says what the failed creates were.
    if (accepted.non2xx > 0)
      console.log(
        `fanout-${backendKind}: ${accepted.non2xx} create(s) answered non-2xx: ${describeFailures(accepted.failures)}\n${api.errors.slice(0, 3).join('\n')}`,
      );
    const deadline = Date.now() + TIMEOUT_S * 1000;
    let states: Record<string, number> = {};
    for (;;) {
      for (const w of workers)
        if (w.process.exitCode !== null) throw new Error(`a worker exited with ${w.process.exitCode}`);
      const rows = (
        await client.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM clusters GROUP BY state`,
        )
      ).rows;
      states = Object.fromEntries(rows.map((r) => [r.state, r.n]));
      if ((states.active ?? 0) + (states.failed ?? 0) + (states.error ?? 0) >= CREATES) break;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    const allActiveS = (performance.now() - started) / 1000;
    const ops = Object.fromEntries(
      (
        await client.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM operations GROUP BY state`,
        )
      ).rows.map((r) => [r.state, r.n]),
    );
    const perBackend = (
      await client.query<{ name: string; n: number }>(
        `SELECT b.name, count(c.id)::int AS n FROM backends b LEFT JOIN clusters c ON c.backend_id = b.id GROUP BY b.name ORDER BY b.name`,
      )
    ).rows;
    const calls = await tallyCalls(sims);
    for (const w of workers) await w.stop();
    await api.stop();

    for (const sim of sims) await sim.clearCalls();
    const floor = await directFloor(sims, backendKind === 'rke2' ? DIRECT_RKE2 : DIRECT_RKE1);

    const active = states.active ?? 0;
    const clusterPosts = calls[CLUSTER_POST[backendKind]]?.calls ?? 0;
    const poolPosts = calls[POOL_POST[backendKind]]?.calls ?? 0;
    const happy = clusterPosts === CREATES && poolPosts === CREATES * POOLS;
    const ok = happy && active === CREATES && accepted.non2xx + accepted.errors === 0;
    const perCreate = (n: number) => Math.round((n / CREATES) * 100) / 100;
    const summary = table(
      ['figure', 'Paddock', `floor (direct ${backendKind === 'rke2' ? '/v1' : '/v3'} script)`, 'ratio'],
      [
        [
          'clusters active',
          `${active} / ${CREATES}${active === CREATES ? ' ✓' : ' ✗'}`,
          `${CREATES} / ${CREATES}`,
          '—',
        ],
        [
          'creates answered 202 in (s)',
          `${Math.round(acceptedS * 10) / 10} (p50 ${accepted.p50} ms, p99 ${accepted.p99} ms; non-2xx ${accepted.non2xx}${accepted.non2xx > 0 ? ` [${describeFailures(accepted.failures)}]` : ''}, errors/timeouts ${accepted.errors}${accepted.non2xx + accepted.errors > 0 ? ' ✗' : ''})`,
          '—',
          '—',
        ],
        [
          'time until all active (s)',
          Math.round(allActiveS * 10) / 10,
          Math.round(floor.seconds * 10) / 10,
          ratio(allActiveS, floor.seconds),
        ],
        [
          'clusters per second',
          Math.round((active / allActiveS) * 10) / 10,
          Math.round((CREATES / floor.seconds) * 10) / 10,
          ratio(active / allActiveS, CREATES / floor.seconds),
        ],
        [
          `${CLUSTER_POST[backendKind]} per create`,
          `${perCreate(clusterPosts)}${clusterPosts === CREATES ? ' ✓' : ' ✗'}`,
          1,
          ratio(perCreate(clusterPosts), 1),
        ],
        [
          `${POOL_POST[backendKind]} per create (${POOLS} pools)`,
          `${perCreate(poolPosts)}${poolPosts === CREATES * POOLS ? ' ✓' : ' ✗'}`,
          perCreate(floor.posts - CREATES),
          ratio(poolPosts, floor.posts - CREATES),
        ],
        [
          'all Rancher calls per create',
          perCreate(Object.values(calls).reduce((a, c) => a + c.calls, 0)),
          perCreate(floor.posts),
          '—',
        ],
      ],
    );
    const kinds = table(
      ['Rancher call (all three simulators)', 'calls', 'per create', 'non-2xx'],
      Object.entries(calls)
        .sort((a, b) => b[1].calls - a[1].calls)
        .map(([k, v]) => [k, v.calls, perCreate(v.calls), v.non2xx]),
    );
    const spread = perBackend.map((b) => `${b.name} ${b.n}`).join(', ');
    // A 500 names only an error id; the API's own error line says what failed.
    const apiErrors =
      api.errors.length > 0
        ? `\n\nThe API logged ${api.errors.length} error(s); the first:\n\n${api.errors
            .slice(0, 3)
            .map((l) => `    ${l.slice(0, 1500)}`)
            .join('\n')}`
        : '';
    const md = `${summary}${apiErrors}\n\nCalls by kind, from the simulators' call logs between the first POST and the last cluster active (GETs of a collection include the status sync's pages; the path is logged without its query):\n\n${kinds}\n\nPlacement: ${spread}. Operations: ${JSON.stringify(ops)}. Cluster states: ${JSON.stringify(states)}.`;
    return {
      key: backendKind === 'rke2' ? 'fanout-rke2' : 'fanout',
      title: `Fan-out (${backendKind}${backendKind === 'rke2' ? `, simulated Rancher ${RKE2_VERSION}` : ''}) — ${CREATES} creates × ${POOLS} pools across 3 simulators (fast timings), ${WORKERS} worker process(es), ${CLIENTS} clients, sync period ${SYNC_PERIOD_MS} ms; quota: ${quota}`,
      markdown: md,
      data: {
        creates: CREATES,
        workers: WORKERS,
        acceptedS,
        acceptedFailures: accepted.failures,
        allActiveS,
        states,
        ops,
        calls,
        floor,
        perBackend,
        happyPath: happy,
      },
      ok,
    };
  } finally {
    for (const w of workers) await w.stop();
    await api.stop();
    for (const sim of sims) await sim.stop();
    await client.end().catch(() => undefined);
    await db.drop();
  }
}
