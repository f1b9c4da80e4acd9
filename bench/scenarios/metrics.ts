/**
 * Scenario 7, the cost of `/metrics` at fleet size: 10,000 clusters with 50,000 nodes (100
 * projects; BENCH_METRICS_CLUSTERS, BENCH_METRICS_NODES_PER_CLUSTER), in three states of health:
 * all healthy, a bad day (10 % of nodes not ready, 1 % of clusters with an unhealthy condition,
 * 100 clusters provisioning with their nodes), and the worst case (every node and every cluster
 * unhealthy). Rows are written with SQL in the shape the status sync writes; the API process (role
 * `api`) computes every gauge from Postgres at each scrape. Per state: the answer's size, its
 * series, and the scrape time over sequential scrapes, beside a floor measured in the same run —
 * the same five health queries sent straight to Postgres.
 */
import {
  ScenarioResult,
  createDatabase,
  paddockClient,
  pg,
  startApi,
  startSim,
  table,
  ratio,
} from '../support';

const CLUSTERS = Number(process.env.BENCH_METRICS_CLUSTERS ?? 10_000);
const NODES_PER_CLUSTER = Number(process.env.BENCH_METRICS_NODES_PER_CLUSTER ?? 5);
const SCRAPES = Number(process.env.BENCH_METRICS_SCRAPES ?? 10);
const PROJECTS = 100;

/** The conditions a healthy node reports (Rancher's lifecycle ones and the kubelet's). */
const HEALTHY_NODE = JSON.stringify([
  { type: 'Initialized', status: 'True' },
  { type: 'Provisioned', status: 'True' },
  { type: 'Saved', status: 'True' },
  { type: 'Registered', status: 'True' },
  { type: 'NetworkUnavailable', status: 'False', reason: 'CalicoIsUp' },
  { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' },
  { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure' },
  { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID' },
  { type: 'Ready', status: 'True', reason: 'KubeletReady' },
]);

/** The health gauges' queries, as the repository sends them (the floor: Postgres alone). */
const HEALTH_QUERIES = [
  `SELECT p.name, c.name, u.condition FROM clusters c JOIN projects p ON p.id = c.project_id, unnest(c.unhealthy_conditions) AS u(condition)
   WHERE cardinality(c.unhealthy_conditions) > 0 AND c.state IN ('provisioning', 'active', 'updating', 'error')`,
  `SELECT p.name, c.name, n.hostname, u.condition FROM nodes n JOIN clusters c ON c.id = n.cluster_id JOIN projects p ON p.id = c.project_id,
   unnest(n.unhealthy_conditions) AS u(condition)
   WHERE cardinality(n.unhealthy_conditions) > 0 AND c.state IN ('provisioning', 'active', 'updating', 'error')`,
  `SELECT p.name, c.name, extract(epoch FROM now() - c.created_at) FROM clusters c JOIN projects p ON p.id = c.project_id WHERE c.state = 'provisioning'`,
  `SELECT p.name, c.name, n.hostname, extract(epoch FROM now() - n.provisioning_since) FROM nodes n JOIN clusters c ON c.id = n.cluster_id
   JOIN projects p ON p.id = c.project_id WHERE n.provisioning_since IS NOT NULL AND c.state IN ('provisioning', 'active', 'updating', 'error')`,
  `SELECT type, count(*), min(created_at) FROM operations WHERE state IN ('pending', 'running') GROUP BY type`,
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round1 = (x: number) => Math.round(x * 10) / 10;

export async function metricsScenario(): Promise<ScenarioResult> {
  const db = await createDatabase();
  const sim = await startSim();
  const api = await startApi(db.url, `benchm${db.name.slice(-8)}`);
  const client = await pg(db.url);
  try {
    const backend = await paddockClient(api.url).registerBackend('metrics-sim', sim);
    await client.query(
      `INSERT INTO projects (name) SELECT 'p-' || lpad(g::text, 3, '0') FROM generate_series(0, $1 - 1) g`,
      [PROJECTS],
    );
    await client.query(
      `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, kubernetes_version, labels, state,
         remote_state, remote_transitioning, remote_message, conditions, node_count, status_updated_at)
       SELECT p.id, $2, 'c-' || lpad(g::text, 5, '0'), 'bench-' || g, 'c-b' || g, 'v1.30.4', '{}', 'active',
         'active', 'no', '', '[{"type":"Ready","status":"True"}]', $3, now()
       FROM generate_series(1, $1) g
       JOIN projects p ON p.name = 'p-' || lpad(((g - 1) % ${PROJECTS})::text, 3, '0')`,
      [CLUSTERS, backend.id, NODES_PER_CLUSTER],
    );
    await client.query(
      `INSERT INTO nodes (cluster_id, rancher_id, hostname, state, transitioning, message, roles, conditions)
       SELECT c.id, c.rancher_id || ':m-' || n, c.name || '-workers-' || n, 'active', 'no', '', '{worker}', $2::jsonb
       FROM clusters c, generate_series(1, $1) n`,
      [NODES_PER_CLUSTER, HEALTHY_NODE],
    );
    await client.query('ANALYZE');
    const nodes = CLUSTERS * NODES_PER_CLUSTER;

    const states: Array<{ name: string; apply: string[] }> = [
      { name: 'all healthy', apply: [] },
      {
        name: 'bad day: 10 % nodes not ready, 1 % clusters unhealthy, 100 provisioning',
        apply: [
          `UPDATE nodes SET unhealthy_conditions = '{Ready}' WHERE cluster_id IN (SELECT id FROM clusters WHERE name LIKE '%0')`,
          `UPDATE clusters SET unhealthy_conditions = '{Ready}' WHERE name LIKE '%00'`,
          `UPDATE clusters SET state = 'provisioning' WHERE name IN (SELECT name FROM clusters ORDER BY name DESC LIMIT 100)`,
          `UPDATE nodes SET provisioning_since = now() - interval '10 minutes'
             WHERE cluster_id IN (SELECT id FROM clusters WHERE state = 'provisioning')`,
        ],
      },
      {
        name: 'worst case: every cluster and every node unhealthy',
        apply: [
          `UPDATE clusters SET state = 'active', unhealthy_conditions = '{Ready}'`,
          `UPDATE nodes SET provisioning_since = NULL, unhealthy_conditions = '{Ready}'`,
        ],
      },
    ];

    const rows: Array<Array<string | number>> = [];
    const data: unknown[] = [];
    for (const state of states) {
      for (const sql of state.apply) await client.query(sql);
      await client.query('ANALYZE');
      // One scrape to warm the process (JIT, pool), then the measured ones.
      await fetch(`${api.url}/metrics`).then((r) => r.text());
      const times: number[] = [];
      let bytes = 0;
      let text = '';
      for (let i = 0; i < SCRAPES; i++) {
        const t = performance.now();
        text = await fetch(`${api.url}/metrics`).then((r) => r.text());
        times.push(performance.now() - t);
        bytes = Buffer.byteLength(text);
      }
      const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
      const health = text
        .split('\n')
        .filter((l) => /^paddock_(cluster|node)_(condition_not_true|provisioning_seconds)\{/.test(l)).length;
      const floorTimes: number[] = [];
      for (let i = 0; i < SCRAPES; i++) {
        const t = performance.now();
        for (const q of HEALTH_QUERIES) await client.query(q);
        floorTimes.push(performance.now() - t);
      }
      const p50 = median(times);
      const floor = median(floorTimes);
      rows.push([
        state.name,
        health,
        samples,
        round1(bytes / 1024),
        round1(p50),
        round1(Math.max(...times)),
        round1(floor),
        ratio(p50, floor),
      ]);
      data.push({
        state: state.name,
        healthSeries: health,
        samples,
        bytes,
        scrapeMs: times,
        floorMs: floorTimes,
      });
    }
    const markdown = [
      `${CLUSTERS} clusters, ${nodes} nodes, ${PROJECTS} projects; ${SCRAPES} sequential scrapes per state of the API process (role api).`,
      '',
      table(
        [
          'fleet state',
          'health series',
          'all samples',
          'size KiB',
          'scrape p50 ms',
          'scrape max ms',
          'floor p50 ms (the 5 health queries, raw pg)',
          'p50 ÷ floor',
        ],
        rows,
      ),
    ].join('\n');
    return {
      key: 'metrics',
      title: `/metrics at ${CLUSTERS.toLocaleString('en')} clusters and ${nodes.toLocaleString('en')} nodes`,
      markdown,
      data,
      ok: true,
    };
  } finally {
    await api.stop();
    await sim.stop();
    await client.end().catch(() => undefined);
    await db.drop();
  }
}
