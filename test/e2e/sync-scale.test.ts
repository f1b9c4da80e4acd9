/**
 * The cost of ONE status-sync cycle at 1,000 clusters (2 pools × 2 nodes each): the calls made
 * and the wall time. The calls must grow with pages (1,000 objects per page), not with clusters.
 * Then the same cycle with PADDOCK_SYNC_PAGE_SIZE=2: one call per two objects, every cluster
 * still mirrored. The clusters are seeded on the simulator and mirrored as Paddock rows directly
 * in Postgres.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INestApplicationContext } from '@nestjs/common';
import { startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { startSyncOnly } from '../support/sync-only';

const POOLS_PER_CLUSTER = 2;
const NODES_PER_POOL = 2;
const LISTS = ['/v3/clusters', '/v3/nodepools', '/v3/nodes', '/v3/etcdbackups'];

/**
 * Seeds `clusters` active clusters on the simulator and inserts their Paddock rows (clusters and
 * pools, pointing at the seeded ids) in the backend `name` and the project of the same name.
 */
async function seedMirrored(
  paddock: TestPaddock,
  sim: TestSimulator,
  name: string,
  clusters: number,
): Promise<{ backendId: string; clusterIds: string[] }> {
  const seeded = await sim.seed({
    clusters,
    poolsPerCluster: POOLS_PER_CLUSTER,
    nodesPerPool: NODES_PER_POOL,
    // Not `paddock.dev/managed`: seeding gives every cluster the same labels, so the per-cluster
    // `paddock.dev/cluster-id` cannot be set and the sync would rightly call them unknown.
    labels: { team: name },
    nodeTemplateId: sim.nodeTemplates[0].id,
  });
  assert.equal(seeded.clusterIds.length, clusters);
  const pools = (await sim.rancher('GET', '/v3/nodepools?limit=-1')).body.data as Array<{
    id: string;
    clusterId: string;
    quantity: number;
  }>;
  assert.equal(pools.length, clusters * POOLS_PER_CLUSTER);

  const backendId = (await paddock.db.query(`SELECT id FROM backends WHERE name = $1`, [name])).rows[0].id;
  const projectId = (await paddock.db.query(`SELECT id FROM projects WHERE name = $1`, [name])).rows[0].id;
  const names = seeded.clusterIds.map((_, i) => `seeded-${i + 1}`);
  const { rows } = await paddock.db.query(
    `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, state)
     SELECT $1, $2, n, 'pd-' || n, r, 'active' FROM unnest($3::text[], $4::text[]) AS v(n, r)
     RETURNING id, rancher_id`,
    [projectId, backendId, names, seeded.clusterIds],
  );
  const clusterIdByRancherId = new Map(rows.map((c) => [c.rancher_id as string, c.id as string]));
  await paddock.db.query(
    `INSERT INTO node_pools (cluster_id, name, roles, flavor, node_template_id, quantity, rancher_id, state)
     SELECT c, 'pool-' || ord, ARRAY['worker'], 'm1.large', $1, $2, r, 'active'
     FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY AS v(c, r, ord)`,
    [
      sim.nodeTemplates[0].id,
      NODES_PER_POOL,
      pools.map((p) => clusterIdByRancherId.get(p.clusterId)),
      pools.map((p) => p.id),
    ],
  );
  return { backendId, clusterIds: seeded.clusterIds };
}

/** A simulator with a node template, and a Paddock without workers holding it as backend `name`. */
async function startBackend(
  name: string,
  env: Record<string, string> = {},
): Promise<{ paddock: TestPaddock; sim: TestSimulator }> {
  const sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
  // No worker: the test runs the one cycle it measures by hand.
  const paddock = await startPaddock({ workers: 'none', env });
  assert.equal((await paddock.registerBackend(name, sim)).status, 201);
  assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
  return { paddock, sim };
}

describe('status sync: one cycle at 1,000 clusters', () => {
  const CLUSTERS = 1_000;
  const PAGE = 1_000;
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let worker: INestApplicationContext | undefined;

  before(async () => {
    ({ paddock, sim } = await startBackend('scale'));
  });

  after(async () => {
    await worker?.close();
    await paddock?.close();
    await sim?.close();
  });

  it('makes one call per page and finishes in bounded time', async () => {
    const { backendId } = await seedMirrored(paddock, sim, 'scale', CLUSTERS);

    const syncOnly = await startSyncOnly(paddock.config);
    worker = syncOnly.context;
    const { sync } = syncOnly;
    await sync.syncBackend(backendId); // warm-up: the first cycle also inserts every node row
    await sim.clearCalls();
    const started = process.hrtime.bigint();
    const report = await sync.syncBackend(backendId);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const calls = await sim.calls();

    assert.ok(report);
    assert.equal(report.clusters, CLUSTERS);
    assert.equal(report.nodes, CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL);
    assert.deepEqual(report.missingClusters, []);
    assert.deepEqual(report.scaledPools, []);
    assert.deepEqual(report.unknownClusters, []);
    const pages = (n: number) => Math.ceil(n / PAGE);
    // Seeded clusters have no backups yet: the backups list is one (empty) page.
    const expected =
      pages(CLUSTERS) +
      pages(CLUSTERS * POOLS_PER_CLUSTER) +
      pages(CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL) +
      1;
    console.log(
      `[sync-scale] one sync cycle at ${CLUSTERS} clusters / ${CLUSTERS * POOLS_PER_CLUSTER} pools / ` +
        `${CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL} nodes: ${calls.length} Rancher calls ` +
        `(${calls.map((c) => `${c.method} ${c.path}`).join(', ')}), wall ${wallMs.toFixed(0)} ms ` +
        `(report.durationMs ${report.durationMs})`,
    );
    assert.equal(calls.length, expected, `one call per page: ${expected} (1 + 2 + 4 + 1)`);
    assert.ok(calls.every((c) => c.method === 'GET' && LISTS.includes(c.path)));
    const { rows } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM clusters WHERE status_updated_at IS NOT NULL`,
    );
    assert.equal(rows[0].n, CLUSTERS, 'every cluster stamped by the cycle');
  });
});

describe('status sync with PADDOCK_SYNC_PAGE_SIZE=2: pages of two, every cluster mirrored', () => {
  const CLUSTERS = 7; // odd: the last page of clusters holds one
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let worker: INestApplicationContext | undefined;

  before(async () => {
    ({ paddock, sim } = await startBackend('pages', { PADDOCK_SYNC_PAGE_SIZE: '2' }));
  });

  after(async () => {
    await worker?.close();
    await paddock?.close();
    await sim?.close();
  });

  it('lists each collection in ceil(n / 2) calls of limit=2 and mirrors every cluster and node', async () => {
    const { backendId, clusterIds } = await seedMirrored(paddock, sim, 'pages', CLUSTERS);
    const syncOnly = await startSyncOnly(paddock.config);
    worker = syncOnly.context;
    await sim.clearCalls();
    const report = await syncOnly.sync.syncBackend(backendId);
    const calls = await sim.calls();

    assert.ok(report);
    assert.equal(report.clusters, CLUSTERS);
    assert.equal(report.nodes, CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL);
    assert.deepEqual(report.missingClusters, []);
    assert.deepEqual(report.unknownClusters, []);
    assert.deepEqual(report.unknownPools, []);
    const perList = Object.fromEntries(
      LISTS.map((path) => [path, calls.filter((c) => c.path === path).length]),
    );
    assert.deepEqual(perList, {
      '/v3/clusters': Math.ceil(CLUSTERS / 2), // 4
      '/v3/nodepools': Math.ceil((CLUSTERS * POOLS_PER_CLUSTER) / 2), // 7
      '/v3/nodes': Math.ceil((CLUSTERS * POOLS_PER_CLUSTER * NODES_PER_POOL) / 2), // 14
      '/v3/etcdbackups': 1, // seeded clusters have no backups: one empty page
    });
    assert.equal(calls.length, 4 + 7 + 14 + 1, 'the lists and nothing else');
    for (const call of calls)
      assert.equal(new URLSearchParams(call.query ?? '').get('limit'), '2', `${call.path}?${call.query}`);

    // Every cluster, from the first page to the last, took the simulator's state and its nodes.
    const { rows } = await paddock.db.query(
      `SELECT c.rancher_id, c.remote_state, c.node_count, c.status_updated_at IS NOT NULL AS stamped,
              (SELECT count(*)::int FROM nodes n WHERE n.cluster_id = c.id) AS node_rows
       FROM clusters c WHERE c.backend_id = $1 ORDER BY c.rancher_id`,
      [backendId],
    );
    assert.deepEqual(
      rows,
      [...clusterIds].sort().map((id) => ({
        rancher_id: id,
        remote_state: 'active',
        node_count: POOLS_PER_CLUSTER * NODES_PER_POOL,
        stamped: true,
        node_rows: POOLS_PER_CLUSTER * NODES_PER_POOL,
      })),
    );
  });
});
