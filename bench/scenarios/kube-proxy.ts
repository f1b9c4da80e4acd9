/**
 * Scenario 6, the Kubernetes API proxy: the same requests through Paddock's `/k8s/clusters/{id}`
 * and straight to the simulator's per-cluster proxy, side by side in one run.
 *   - a kubectl-like list of 1,000 configmaps (two pages of 500, as kubectl chunks), N times;
 *   - a watch that delivers 1,000 events (ADDED for each configmap), time to the last one;
 *   - the API process's RSS with 200 watches open through it (and before).
 * Paddock is reached with a kubeconfig credential (the per-request credential query included).
 */
import {
  createDatabase,
  paddockClient,
  pg,
  rssMiB,
  ScenarioResult,
  sleep,
  startApi,
  startSim,
  startWorker,
  table,
} from '../support';

const OBJECTS = Number(process.env.BENCH_KUBE_OBJECTS ?? 1_000);
const LIST_ROUNDS = Number(process.env.BENCH_KUBE_LIST_ROUNDS ?? 20);
const WATCH_ROUNDS = Number(process.env.BENCH_KUBE_WATCH_ROUNDS ?? 10);
const WATCHES = Number(process.env.BENCH_KUBE_WATCHES ?? 200);

interface Target {
  base: string;
  authorization: string;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const round1 = (x: number) => Math.round(x * 10) / 10;

/** kubectl's list: `?limit=500`, then `continue` until done. Returns the items seen. */
async function listAll(target: Target): Promise<number> {
  let items = 0;
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: '500', ...(next ? { continue: next } : {}) });
    const response = await fetch(`${target.base}/api/v1/namespaces/default/configmaps?${query}`, {
      headers: { authorization: target.authorization, accept: 'application/json' },
    });
    if (response.status !== 200) throw new Error(`list → ${response.status} ${await response.text()}`);
    const body = (await response.json()) as { items: unknown[]; metadata: { continue?: string } };
    items += body.items.length;
    next = body.metadata.continue || undefined;
  } while (next);
  return items;
}

/** Opens a watch from "0" (an ADDED per object) and times the arrival of the `count`-th event. */
async function watchEvents(target: Target, count: number): Promise<number> {
  const controller = new AbortController();
  const started = performance.now();
  const response = await fetch(`${target.base}/api/v1/namespaces/default/configmaps?watch=true`, {
    headers: { authorization: target.authorization },
    signal: controller.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`watch → ${response.status}`);
  const decoder = new TextDecoder();
  let events = 0;
  try {
    for await (const chunk of response.body) {
      events += (decoder.decode(chunk as Uint8Array, { stream: true }).match(/\n/g) ?? []).length;
      if (events >= count) return performance.now() - started;
    }
  } finally {
    controller.abort();
  }
  throw new Error(`the watch ended after ${events} of ${count} events`);
}

export async function kubeProxyScenario(): Promise<ScenarioResult> {
  const db = await createDatabase();
  const sim = await startSim();
  const prefix = `bkube${Date.now().toString(36)}`;
  const api = await startApi(db.url, prefix);
  const worker = startWorker(db.url, prefix, { PADDOCK_SYNC_PERIOD_MS: '500' });
  const paddock = paddockClient(api.url);
  await paddock.call('POST', '/v1/admin/backends', {
    name: 'bench-kube',
    url: sim.url,
    token: sim.token,
    kind: 'rke1',
    capacity: { maxClusters: 10, maxNodes: 100 },
    flavors: { 'm1.large': { nodeTemplateId: sim.templateId } },
  });
  await paddock.call('POST', '/v1/admin/projects', { name: 'bench' });
  const created = (
    await paddock.call('POST', '/v1/projects/bench/clusters', {
      name: 'kube',
      nodePools: [
        { name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 'm1.large' },
      ],
    })
  ).body as unknown as { cluster: { id: string }; operation: { id: string } };
  for (const deadline = Date.now() + 120_000; ; await sleep(250)) {
    const op = (await paddock.call('GET', `/v1/operations/${created.operation.id}`)).body as unknown as {
      state: string;
    };
    if (op.state === 'succeeded') break;
    if (op.state === 'failed' || Date.now() > deadline) throw new Error(`cluster create ${op.state}`);
  }
  await worker.stop();
  const kubeconfig = (await paddock.call('GET', '/v1/projects/bench/clusters/kube/kubeconfig'))
    .body as unknown as string;
  const credential = /token: "?(pdk_kc_[\w-]+)/.exec(kubeconfig)?.[1];
  if (!credential) throw new Error('no credential in the kubeconfig');
  const client = await pg(db.url);
  const rancherId = (
    await client.query<{ rancher_id: string }>(`SELECT rancher_id FROM clusters WHERE id = $1`, [
      created.cluster.id,
    ])
  ).rows[0].rancher_id;
  const viaPaddock: Target = {
    base: `${api.url}/k8s/clusters/${created.cluster.id}`,
    authorization: `Bearer ${credential}`,
  };
  const direct: Target = {
    base: `${sim.url}/k8s/clusters/${rancherId}`,
    authorization: `Bearer ${sim.token}`,
  };

  // 1,000 configmaps, written straight to the simulator (the writes are not what is measured).
  for (let i = 0; i < OBJECTS; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, OBJECTS - i) }, (_, j) =>
        fetch(`${direct.base}/api/v1/namespaces/default/configmaps`, {
          method: 'POST',
          headers: { authorization: direct.authorization, 'content-type': 'application/json' },
          body: JSON.stringify({ metadata: { name: `cm-${i + j}` }, data: { value: 'x'.repeat(200) } }),
        }).then((r) => {
          if (r.status !== 201) throw new Error(`create configmap → ${r.status}`);
        }),
      ),
    );
  }

  const lists = { paddock: [] as number[], direct: [] as number[] };
  const watches = { paddock: [] as number[], direct: [] as number[] };
  // Alternate the two paths so a busy moment on the shared machine hits both alike.
  for (let i = 0; i < LIST_ROUNDS + 2; i++) {
    for (const [name, target] of [
      ['paddock', viaPaddock],
      ['direct', direct],
    ] as const) {
      const t = performance.now();
      const items = await listAll(target);
      if (items < OBJECTS) throw new Error(`${name} list saw ${items} items`);
      if (i >= 2) lists[name].push(performance.now() - t); // two warm-up rounds
    }
  }
  for (let i = 0; i < WATCH_ROUNDS + 1; i++) {
    for (const [name, target] of [
      ['paddock', viaPaddock],
      ['direct', direct],
    ] as const) {
      const ms = await watchEvents(target, OBJECTS);
      if (i >= 1) watches[name].push(ms);
    }
  }

  // 200 watches open at once through Paddock; the API's RSS while they stay open.
  const rssIdle = rssMiB(api.pid);
  const controllers: AbortController[] = [];
  let retries = 0;
  const opened = await Promise.all(
    Array.from({ length: WATCHES }, async () => {
      const controller = new AbortController();
      controllers.push(controller);
      // As client-go does: a 503 with Retry-After (a saturated database pool) is tried again.
      for (let attempt = 0; ; attempt++) {
        const response = await fetch(
          `${viaPaddock.base}/api/v1/namespaces/kube-system/configmaps?watch=true`,
          {
            headers: { authorization: viaPaddock.authorization },
            signal: controller.signal,
          },
        );
        if (response.status === 200) return 200;
        const retryAfter = Number(response.headers.get('retry-after'));
        if (response.status !== 503 || !retryAfter || attempt >= 5)
          return `${response.status} ${await response.text()}`;
        retries++;
        await response.text();
        await sleep(retryAfter * 1000);
      }
    }),
  );
  const refused = opened.filter((s) => s !== 200);
  if (refused.length > 0) throw new Error(`${refused.length} watches refused: ${refused[0]}`);
  await sleep(2_000);
  const rssOpen = rssMiB(api.pid);
  for (const controller of controllers) controller.abort();
  await sleep(1_000);
  const rssAfter = rssMiB(api.pid);

  const row = (what: string, p: number[], d: number[]) => {
    const pm = percentile(p, 50);
    const dm = percentile(d, 50);
    return [
      what,
      round1(pm),
      round1(percentile(p, 95)),
      round1(dm),
      round1(percentile(d, 95)),
      round1(pm / dm),
      `+${round1(pm - dm)} ms`,
    ];
  };
  const rows = [
    row(`list ${OBJECTS} configmaps (2 × limit=500), ${LIST_ROUNDS} rounds`, lists.paddock, lists.direct),
    row(`watch: ${OBJECTS} events delivered, ${WATCH_ROUNDS} rounds`, watches.paddock, watches.direct),
  ];
  const memoryRows = [
    ['API RSS before the watches', rssIdle],
    [`API RSS with ${WATCHES} watches open through it`, rssOpen],
    [`per open watch`, `${round1(((rssOpen - rssIdle) * 1024) / WATCHES)} KiB`],
    ['API RSS 1 s after they closed', rssAfter],
    ['watch opens retried after a 503 with Retry-After', retries],
  ];
  await api.stop();
  await sim.stop();
  return {
    key: 'kubeProxy',
    title: 'Kubernetes API proxy — through Paddock vs straight to the backend (ms; RSS in MiB)',
    markdown: `${table(['request', 'Paddock p50', 'p95', 'direct p50', 'p95', 'ratio p50', 'overhead p50'], rows)}\n\n${table(['memory', 'value'], memoryRows)}`,
    data: {
      lists,
      watches,
      rss: { idle: rssIdle, open: rssOpen, after: rssAfter, watches: WATCHES },
      retries,
    },
    ok: true,
  };
}
