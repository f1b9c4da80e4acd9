/**
 * The 10,000-cluster fleet shared by the reads, sync and memory scenarios: one simulator (its own
 * process) seeded through `POST /__sim/seed`, and a Paddock database holding the matching rows
 * (100 projects, one backend, active clusters with two pools each, their Rancher ids), inserted
 * with SQL. `growTo(n)` adds clusters on both sides, so the sync can be measured at each size.
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
  startApi,
  startProcess,
  startSim,
} from '../support';

export const PROJECTS = 100;
export const projectName = (p: number) => `p-${String(p).padStart(3, '0')}`;
export const clusterName = (i: number) => `c-${String(i).padStart(5, '0')}`;
/** Cluster number i (1-based) lives in project (i - 1) % 100. */
export const projectOf = (i: number) => projectName((i - 1) % PROJECTS);

export interface Fleet {
  db: BenchDatabase;
  pg: Client;
  sim: SimChild;
  api: Child & { url: string };
  floor: Child & { url: string };
  prefix: string;
  backendId: string;
  /** Rancher ids of the seeded clusters, in Paddock numbering order (index 0 = c-00001). */
  rancherIds: string[];
  pools: number;
  nodes: number;
  /** Resident sizes (MiB) of the API and the floor right after they started, with no clusters. */
  rssAtStart: { api: number; floor: number };
  growTo(clusters: number): Promise<void>;
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

  const fleet: Fleet = {
    db,
    pg: client,
    sim,
    api,
    floor,
    prefix,
    backendId: backend.id,
    rancherIds: [],
    pools: 0,
    nodes: 0,
    rssAtStart: { api: rssMiB(api.pid), floor: rssMiB(floor.pid) },
    async growTo(target) {
      const need = target - fleet.rancherIds.length;
      if (need <= 0) return;
      const seeded = await sim.request<{ clusterIds: string[] }>('POST', '/__sim/seed', {
        clusters: need,
        poolsPerCluster: 2,
        nodesPerPool: 1,
        namePrefix: 'seed-',
        nodeTemplateId: sim.templateId,
      });
      const fresh = new Set(seeded.clusterIds);
      const pools = (await listAll<V3Pool>(sim, '/v3/nodepools')).filter((p) => fresh.has(p.clusterId));
      const offset = fleet.rancherIds.length;
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, kubernetes_version,
           labels, state, remote_state, remote_transitioning, remote_message, conditions, node_count, status_updated_at)
         SELECT ($2::uuid[])[((($3::int + v.ord - 1) % $4::int) + 1)], $5, 'c-' || lpad(($3::int + v.ord)::text, 5, '0'),
           'bench-' || ($3::int + v.ord), v.rid, 'v1.30.4', '{"team": "bench"}', 'active', 'active', 'no', '',
           '[]', 2, now()
         FROM unnest($1::text[]) WITH ORDINALITY AS v(rid, ord)`,
        [seeded.clusterIds, projectIds, offset, PROJECTS, backend.id],
      );
      await client.query(
        `INSERT INTO node_pools (cluster_id, name, roles, flavor, node_template_id, quantity, remote_quantity,
           ready_nodes, rancher_id, state)
         SELECT c.id, v.name, string_to_array(v.roles, ','), 'm1.large', $5, 1, 1, 1, v.prid, 'active'
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(crid, prid, name, roles)
         JOIN clusters c ON c.rancher_id = v.crid`,
        [
          pools.map((p) => p.clusterId),
          pools.map((p) => p.id),
          pools.map((p) => (p.hostnamePrefix.endsWith('-pool1-') ? 'control' : 'workers')),
          pools.map((p) => (p.hostnamePrefix.endsWith('-pool1-') ? 'etcd,controlplane' : 'worker')),
          sim.templateId,
        ],
      );
      await client.query(
        `UPDATE backends SET clusters_count = clusters_count + $2, nodes_count = nodes_count + $3 WHERE id = $1`,
        [backend.id, need, pools.length],
      );
      await client.query('COMMIT');
      await client.query('ANALYZE');
      fleet.rancherIds.push(...seeded.clusterIds);
      fleet.pools += pools.length;
      fleet.nodes += pools.length; // one node per pool
    },
    async close() {
      await api.stop();
      await floor.stop();
      await sim.stop();
      await client.end().catch(() => undefined);
      await db.drop();
    },
  };
  return fleet;
}
