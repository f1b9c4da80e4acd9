/**
 * The cost of ONE status-sync cycle at 1,000 clusters (2 pools × 2 nodes each): the calls made
 * and the wall time. The calls must grow with pages (1,000 objects per page), not with clusters.
 * The clusters are seeded on the simulator and mirrored as Paddock rows directly in Postgres.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INestApplicationContext } from '@nestjs/common';
import { startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { startSyncOnly } from '../support/sync-only';

const CLUSTERS = 1_000;
const POOLS_PER_CLUSTER = 2;
const NODES_PER_POOL = 2;
const PAGE = 1_000;

describe('status sync: one cycle at 1,000 clusters', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let worker: INestApplicationContext | undefined;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    // No worker: the test runs the one cycle it measures by hand.
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.registerBackend('scale', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'scale' })).status, 201);
  });

  after(async () => {
    await worker?.close();
    await paddock?.close();
    await sim?.close();
  });

  it('makes one call per page and finishes in bounded time', async () => {
    const seeded = await sim.seed({
      clusters: CLUSTERS,
      poolsPerCluster: POOLS_PER_CLUSTER,
      nodesPerPool: NODES_PER_POOL,
      // Not `paddock.dev/managed`: seeding gives every cluster the same labels, so the per-cluster
      // `paddock.dev/cluster-id` cannot be set and the sync would rightly call them unknown.
      labels: { team: 'scale' },
      nodeTemplateId: sim.nodeTemplates[0].id,
    });
    assert.equal(seeded.clusterIds.length, CLUSTERS);
    const pools = (await sim.rancher('GET', '/v3/nodepools?limit=-1')).body.data as Array<{
      id: string;
      clusterId: string;
      quantity: number;
    }>;
    assert.equal(pools.length, CLUSTERS * POOLS_PER_CLUSTER);

    // The Paddock side: one row per seeded cluster and pool, pointing at the seeded ids.
    const backendId = (await paddock.db.query(`SELECT id FROM backends WHERE name = 'scale'`)).rows[0].id;
    const projectId = (await paddock.db.query(`SELECT id FROM projects WHERE name = 'scale'`)).rows[0].id;
    const names = seeded.clusterIds.map((_, i) => `seeded-${i + 1}`);
    const { rows: clusters } = await paddock.db.query(
      `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, state)
       SELECT $1, $2, n, 'pd-' || n, r, 'active' FROM unnest($3::text[], $4::text[]) AS v(n, r)
       RETURNING id, rancher_id`,
      [projectId, backendId, names, seeded.clusterIds],
    );
    const clusterIdByRancherId = new Map(clusters.map((c) => [c.rancher_id as string, c.id as string]));
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

    const syncOnly = await startSyncOnly(paddock.config);
    worker = syncOnly.context;
    const { sync } = syncOnly;
    const backendIdForSync: string = backendId;
    await sync.syncBackend(backendIdForSync); // warm-up: the first cycle also inserts every node row
    await sim.clearCalls();
    const started = process.hrtime.bigint();
    const report = await sync.syncBackend(backendIdForSync);
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
    assert.ok(
      calls.every(
        (c) =>
          c.method === 'GET' &&
          ['/v3/clusters', '/v3/nodepools', '/v3/nodes', '/v3/etcdbackups'].includes(c.path),
      ),
    );
    const { rows } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM clusters WHERE status_updated_at IS NOT NULL`,
    );
    assert.equal(rows[0].n, CLUSTERS, 'every cluster stamped by the cycle');
  });
});
