/**
 * Figures for issue 5's note (not a test): placement decision time and creates accepted per
 * second with three backends. Run after a build:
 *
 *   node dist/test/support/measure-placement.js
 *
 * Each scenario boots Paddock through the test harness (API in-process, no worker, so only the
 * create path is measured) against in-process simulators.
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { clusterBody, startPaddock, TestPaddock, TEST_ADMIN_TOKEN } from './paddock';
import { startTestSimulator, TestSimulator } from './simulator';

const ENV = {
  PADDOCK_DEFAULT_QUOTA_CLUSTERS: '1000000',
  PADDOCK_DEFAULT_QUOTA_NODES: '10000000',
  PADDOCK_RATE_LIMIT_PER_TOKEN: '0',
  PADDOCK_RATE_LIMIT_PER_PROJECT: '0',
  LOG_LEVEL: process.env.MEASURE_LOG_LEVEL ?? 'silent',
};

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((s, v) => s + v, 0) / samples.length;
  return `mean ${mean.toFixed(2)} ms, p50 ${pct(sorted, 50).toFixed(2)} ms, p99 ${pct(sorted, 99).toFixed(2)} ms`;
};

async function boot(backends: number): Promise<{ paddock: TestPaddock; sims: TestSimulator[] }> {
  const sims = await Promise.all(
    Array.from({ length: backends }, () => startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] })),
  );
  const paddock = await startPaddock({ workers: 'none', env: ENV });
  for (const [i, sim] of sims.entries()) {
    const r = await paddock.registerBackend(`m-${i}`, sim, {
      capacity: { maxClusters: 100_000, maxNodes: 1_000_000 },
    });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  }
  for (const name of ['m', ...Array.from({ length: 25 }, (_, i) => `m${i}`)]) {
    const p = await paddock.request('POST', '/v1/admin/projects', { name });
    if (p.status !== 201) throw new Error(JSON.stringify(p.body));
  }
  return { paddock, sims };
}

async function shutdown({ paddock, sims }: { paddock: TestPaddock; sims: TestSimulator[] }) {
  await paddock.close();
  await Promise.all(sims.map((s) => s.close()));
}

/** 200 sequential creates (after 20 warm-up ones): the 202 latency. */
async function sequential(paddock: TestPaddock, label: string) {
  for (let i = 0; i < 20; i++)
    await paddock.request('POST', '/v1/projects/m/clusters', clusterBody(`warm-${label}-${i}`));
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    const r = await paddock.request('POST', '/v1/projects/m/clusters', clusterBody(`seq-${label}-${i}`));
    samples.push(performance.now() - started);
    if (r.status !== 202) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
  }
  console.log(`200 sequential creates, ${label}: 202 latency ${summary(samples)}`);
}

/**
 * The placement's own SQL, as PlacementService.rank and .claim send it (candidate read, then the
 * claim's first pass: the advisory claim mark and the conditional update), in a transaction that
 * is rolled back.
 */
async function placementSql(paddock: TestPaddock, label: string) {
  const db = new Client({ connectionString: paddock.config.databaseUrl });
  await db.connect();
  const samples: number[] = [];
  for (let i = 0; i < 520; i++) {
    const started = performance.now();
    await db.query('BEGIN');
    const { rows } = await db.query(
      `SELECT id, name, state, health, region, flavors, max_clusters, max_nodes, clusters_count, nodes_count
       FROM backends WHERE deleted_at IS NULL ORDER BY name`,
    );
    const chosen = rows
      .filter((c) => c.state === 'active' && c.health !== 'unhealthy' && c.flavors['m1.large'])
      .sort(
        (a, b) =>
          a.clusters_count / a.max_clusters - b.clusters_count / b.max_clusters ||
          a.name.localeCompare(b.name),
      )[0];
    await db.query(
      `UPDATE backends SET clusters_count = clusters_count + 1, nodes_count = nodes_count + 3
       WHERE id = $1 AND pg_try_advisory_xact_lock(7326002, hashtext($1::text))
         AND clusters_count + 1 <= max_clusters AND nodes_count + 3 <= max_nodes RETURNING id`,
      [chosen.id],
    );
    await db.query('ROLLBACK');
    if (i >= 20) samples.push(performance.now() - started);
  }
  await db.end();
  console.log(
    `placement SQL (read candidates + reserve, in a rolled-back transaction), ${label}: ${summary(samples)}`,
  );
}

/** `projects` > 1 spreads the creates over that many projects (one quota row each). */
async function load(paddock: TestPaddock, label: string, projects = 1) {
  let n = 0;
  const statuses: Record<string, number> = {};
  const result = await autocannon({
    url: `${paddock.url}/v1/projects/m/clusters`,
    connections: 50,
    duration: 10,
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    requests: [
      {
        setupRequest: (req) => {
          const i = n++;
          return {
            ...req,
            path: `/v1/projects/${projects > 1 ? `m${i % projects}` : 'm'}/clusters`,
            body: JSON.stringify(clusterBody(`load-${label}-${i}`)),
          };
        },
        onResponse: (status) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
        },
      },
    ],
  });
  const placed = (
    await paddock.db.query(
      `SELECT b.name, count(*)::int AS n FROM clusters c JOIN backends b ON b.id = c.backend_id
       WHERE c.name LIKE $1 GROUP BY b.name ORDER BY b.name`,
      [`load-${label}-%`],
    )
  ).rows;
  console.log(
    `autocannon 10 s × 50 connections, ${label}, ${projects} project(s): ${result.requests.average.toFixed(0)} req/s ` +
      `(${result.non2xx} non-2xx; statuses ${JSON.stringify(statuses)}), latency p50 ${result.latency.p50} ms, ` +
      `p99 ${result.latency.p99} ms; placed ${JSON.stringify(placed)}`,
  );
}

async function main() {
  for (const backends of [1, 3]) {
    const label = `${backends}-backend${backends > 1 ? 's' : ''}`;
    const run = await boot(backends);
    try {
      await placementSql(run.paddock, label);
      await sequential(run.paddock, label);
      await load(run.paddock, label);
      if (backends === 3) await load(run.paddock, `${label}-spread`, 25);
    } finally {
      await shutdown(run);
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
