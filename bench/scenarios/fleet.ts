/**
 * The 10,000-cluster fleet shared by the reads, sync and memory scenarios: one simulator (its own
 * process) seeded through `POST /__sim/seed`, and a Paddock database holding the matching rows
 * (100 projects, one backend, active clusters with two pools each, their Rancher ids), inserted
 * with SQL. `growTo(n)` adds clusters on both sides, so the sync can be measured at each size;
 * `addBackends(k, n)` then adds k more simulators of n clusters each, registered as backends of
 * the same Paddock (the 50,000-cluster point: 5 × 10,000).
 */
import type { Client } from 'pg';
import {
  BenchDatabase,
  Child,
  SimChild,
  createDatabase,
  freePort,
  paddockClient,
  pg,
  rssMiB,
  sleep,
  startApi,
  startProcess,
  startSim,
  startWorker,
} from '../support';

export const PROJECTS = 100;
export const projectName = (p: number) => `p-${String(p).padStart(3, '0')}`;
export const clusterName = (i: number) => `c-${String(i).padStart(5, '0')}`;
/** Cluster number i (1-based) lives in project (i - 1) % 100. */
export const projectOf = (i: number) => projectName((i - 1) % PROJECTS);

/** One simulator registered as one backend of the fleet's Paddock. */
export interface FleetBackend {
  sim: SimChild;
  backendId: string;
  /** Rancher ids of its clusters, in the order they were added. */
  rancherIds: string[];
  pools: number;
  nodes: number;
}

export interface Fleet {
  db: BenchDatabase;
  pg: Client;
  api: Child & { url: string };
  floor: Child & { url: string };
  prefix: string;
  /** The first is the one `growTo` grows; `addBackends` appends the others. */
  backends: FleetBackend[];
  /** Totals over every backend. Paddock numbers the clusters c-00001 up, in the order they were added. */
  readonly clusters: number;
  readonly pools: number;
  readonly nodes: number;
  /** Resident sizes (MiB) of the API and the floor right after they started, with no clusters. */
  rssAtStart: { api: number; floor: number };
  /** Grows the first backend to `clusters` (only while it is the only one). */
  growTo(clusters: number): Promise<void>;
  /** Starts `count` more simulators of `clustersEach` clusters, registered as backends. */
  addBackends(count: number, clustersEach: number): Promise<void>;
  close(): Promise<void>;
}

interface V3Pool {
  id: string;
  clusterId: string;
  hostnamePrefix: string;
}

async function listAll<T>(sim: SimChild, path: string): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await sim.request<{ data: T[]; pagination?: { next?: string } }>(
      'GET',
      `${path}?limit=10000${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
    );
    out.push(...page.data);
    const next = page.pagination?.next;
    if (!next) return out;
    marker = new URL(next).searchParams.get('marker') ?? undefined;
    if (!marker) return out;
  }
}

/** Seeds `clusters` active clusters of two pools of one node each; their ids and their pools. */
async function seedSim(sim: SimChild, clusters: number): Promise<{ clusterIds: string[]; pools: V3Pool[] }> {
  const seeded = await sim.request<{ clusterIds: string[] }>('POST', '/__sim/seed', {
    clusters,
    poolsPerCluster: 2,
    nodesPerPool: 1,
    namePrefix: 'seed-',
    nodeTemplateId: sim.templateId,
  });
  const fresh = new Set(seeded.clusterIds);
  const pools = (await listAll<V3Pool>(sim, '/v3/nodepools')).filter((p) => fresh.has(p.clusterId));
  return { clusterIds: seeded.clusterIds, pools };
}

export async function startFleet(): Promise<Fleet> {
  const db = await createDatabase();
  const sim = await startSim();
  const prefix = `benchf${db.name.slice(-8)}`;
  const api = await startApi(db.url, prefix);
  const floorPort = await freePort();
  const floorChild = await startProcess(
    'bench/floor-server.js',
    { DATABASE_URL: db.url, PORT: String(floorPort) },
    `http://127.0.0.1:${floorPort}/floor/ping`,
  );
  const floor = { ...floorChild, url: `http://127.0.0.1:${floorPort}` };
  const client = await pg(db.url);
  const paddock = paddockClient(api.url);
  const backend = await paddock.registerBackend('fleet-sim', sim);
  await client.query(
    `INSERT INTO projects (name) SELECT 'p-' || lpad(g::text, 3, '0') FROM generate_series(0, $1 - 1) g`,
    [PROJECTS],
  );
  const projectIds = (
    await client.query<{ id: string }>(`SELECT id FROM projects WHERE name LIKE 'p-%' ORDER BY name`)
  ).rows.map((r) => r.id);

  /** The Paddock rows of clusters just seeded on `target`'s simulator, numbered after the others. */
  const insertRows = async (target: FleetBackend, seeded: { clusterIds: string[]; pools: V3Pool[] }) => {
    const { clusterIds, pools } = seeded;
    const offset = fleet.clusters;
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, kubernetes_version,
         labels, state, remote_state, remote_transitioning, remote_message, conditions, node_count, status_updated_at)
       SELECT ($2::uuid[])[((($3::int + v.ord - 1) % $4::int) + 1)], $5, 'c-' || lpad(($3::int + v.ord)::text, 5, '0'),
         'bench-' || ($3::int + v.ord), v.rid, 'v1.30.4', '{"team": "bench"}', 'active', 'active', 'no', '',
         '[]', 2, now()
       FROM unnest($1::text[]) WITH ORDINALITY AS v(rid, ord)`,
      [clusterIds, projectIds, offset, PROJECTS, target.backendId],
    );
    // Two Rancher servers may hand out the same cluster id (c- and five random characters): the
    // pools join their cluster within their own backend.
    await client.query(
      `INSERT INTO node_pools (cluster_id, name, roles, flavor, node_template_id, quantity, remote_quantity,
         ready_nodes, rancher_id, state)
       SELECT c.id, v.name, string_to_array(v.roles, ','), 'm1.large', $5, 1, 1, 1, v.prid, 'active'
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(crid, prid, name, roles)
       JOIN clusters c ON c.rancher_id = v.crid AND c.backend_id = $6`,
      [
        pools.map((p) => p.clusterId),
        pools.map((p) => p.id),
        pools.map((p) => (p.hostnamePrefix.endsWith('-pool1-') ? 'control' : 'workers')),
        pools.map((p) => (p.hostnamePrefix.endsWith('-pool1-') ? 'etcd,controlplane' : 'worker')),
        target.sim.templateId,
        target.backendId,
      ],
    );
    await client.query(
      `UPDATE backends SET clusters_count = clusters_count + $2, nodes_count = nodes_count + $3 WHERE id = $1`,
      [target.backendId, clusterIds.length, pools.length],
    );
    await client.query('COMMIT');
    await client.query('ANALYZE');
    target.rancherIds.push(...clusterIds);
    target.pools += pools.length;
    target.nodes += pools.length; // one node per pool
  };

  const sum = (of: (b: FleetBackend) => number) => fleet.backends.reduce((n, b) => n + of(b), 0);
  const fleet: Fleet = {
    db,
    pg: client,
    api,
    floor,
    prefix,
    backends: [{ sim, backendId: backend.id, rancherIds: [], pools: 0, nodes: 0 }],
    get clusters() {
      return sum((b) => b.rancherIds.length);
    },
    get pools() {
      return sum((b) => b.pools);
    },
    get nodes() {
      return sum((b) => b.nodes);
    },
    rssAtStart: { api: rssMiB(api.pid), floor: rssMiB(floor.pid) },
    async growTo(target) {
      if (fleet.backends.length > 1) throw new Error('growTo grows a fleet of one backend');
      const first = fleet.backends[0];
      const need = target - first.rancherIds.length;
      if (need <= 0) return;
      await insertRows(first, await seedSim(first.sim, need));
    },
    async addBackends(count, clustersEach) {
      const sims = await Promise.all(Array.from({ length: count }, () => startSim()));
      const added: FleetBackend[] = [];
      for (const s of sims) {
        const registered = await paddock.registerBackend(`fleet-sim-${fleet.backends.length + 1}`, s);
        const b = { sim: s, backendId: registered.id, rancherIds: [], pools: 0, nodes: 0 };
        fleet.backends.push(b);
        added.push(b);
      }
      // Each simulator is its own process: they seed side by side.
      const seeded = await Promise.all(added.map((b) => seedSim(b.sim, clustersEach)));
      for (const [i, b] of added.entries()) await insertRows(b, seeded[i]);
    },
    async close() {
      await api.stop();
      await floor.stop();
      for (const b of fleet.backends) await b.sim.stop();
      await client.end().catch(() => undefined);
      await db.drop();
    },
  };
  return fleet;
}

/**
 * Starts a worker on the fleet's database and waits until each of `backendIds` has finished
 * `cycles` sync cycles since it started: the worker's resident size then, and after its first
 * cycle of every backend. The caller stops the worker (it is left running so other processes can
 * be measured beside it).
 */
export async function workerAfterSyncCycles(
  fleet: Fleet,
  backendIds: string[],
  cycles: number,
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<{ worker: Child; rssAfterFirst: number; reports: Array<{ clusters?: number }> }> {
  const lastSyncs = async () =>
    (
      await fleet.pg.query<{ id: string; at: Date | null; report: { clusters?: number } }>(
        `SELECT id, last_sync_at AS at, sync_report AS report FROM backends WHERE id = ANY($1::uuid[])`,
        [backendIds],
      )
    ).rows;
  const before = new Map((await lastSyncs()).map((r) => [r.id, r.at?.getTime() ?? 0]));
  const worker = startWorker(fleet.db.url, fleet.prefix, {
    PADDOCK_SYNC_PERIOD_MS: '1000',
    PADDOCK_SWEEP_PERIOD_MS: '1000',
    ...env,
  });
  try {
    const seen = new Map(backendIds.map((id) => [id, new Set<number>()]));
    const rounds = () => Math.min(...[...seen.values()].map((s) => s.size));
    let rssAfterFirst = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (worker.process.exitCode !== null) throw new Error(`worker exited with ${worker.process.exitCode}`);
      const rows = await lastSyncs();
      for (const r of rows) {
        const at = r.at?.getTime() ?? 0;
        if (at > (before.get(r.id) ?? 0)) seen.get(r.id)?.add(at);
      }
      if (rssAfterFirst === 0 && rounds() >= 1) rssAfterFirst = rssMiB(worker.pid);
      if (rounds() >= cycles) return { worker, rssAfterFirst, reports: rows.map((r) => r.report) };
      if (Date.now() > deadline)
        throw new Error(`only ${rounds()} sync cycles of every backend in ${Math.round(timeoutMs / 1000)} s`);
      await sleep(100);
    }
  } catch (error) {
    await worker.stop();
    throw error;
  }
}
