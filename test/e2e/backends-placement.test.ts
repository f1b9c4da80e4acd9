/**
 * Placement across three Rancher backends (issue 5): by capacity (least utilised, ties by name, a
 * full backend skipped with its reason), region, flavor, state (`draining`, `disabled`) and
 * health (a backend that stops answering leaves placement and comes back), capacity given back by
 * a delete, and concurrent creates racing for the last free slots (cluster and node capacity).
 *
 * Backends: `sim-a` (region r1) and `sim-b` (region r2) offer m1.large; `sim-c` (region r2) offers
 * m1.large and g1.gpu. Tests run in order and each sets the capacities it needs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'place';
const PROBE_PERIOD_MS = 300;
const NO_BACKEND = 'NO_BACKEND_AVAILABLE';

describe('backends: placement', { timeout: 120_000 }, () => {
  let paddock: TestPaddock;
  let simA: TestSimulator;
  let simB: TestSimulator;
  let simC: TestSimulator;
  let seq = 0;

  const create = (overrides: Record<string, unknown> = {}, name = `c-${++seq}`) =>
    paddock.request('POST', `/v1/projects/${PROJECT}/clusters`, clusterBody(name, overrides));

  const backendOf = async (clusterId: string) =>
    (
      await paddock.db.query<{ name: string }>(
        'SELECT b.name FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE c.id = $1',
        [clusterId],
      )
    ).rows[0].name;

  const counters = async (name: string) =>
    (
      await paddock.db.query<{ clusters_count: number; nodes_count: number }>(
        'SELECT clusters_count, nodes_count FROM backends WHERE name = $1 AND deleted_at IS NULL',
        [name],
      )
    ).rows[0];

  async function patch(name: string, body: Record<string, unknown>) {
    const response = await paddock.request('PATCH', `/v1/admin/backends/${name}`, body);
    assert.equal(response.status, 200, `PATCH ${name}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  const gpuPools = [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
    { name: 'gpu', roles: ['worker'], quantity: 2, flavor: 'g1.gpu' },
  ];

  before(async () => {
    [simA, simB, simC] = await Promise.all([
      startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] }),
      startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] }),
      startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }, { name: 'g1.gpu' }] }),
    ]);
    paddock = await startPaddock({
      env: {
        PADDOCK_PROBE_PERIOD_MS: String(PROBE_PERIOD_MS),
        PADDOCK_DEFAULT_QUOTA_CLUSTERS: '10000',
        PADDOCK_DEFAULT_QUOTA_NODES: '1000000',
      },
    });
    const capacity = { maxClusters: 4, maxNodes: 1000 };
    for (const [name, sim, region, maxClusters] of [
      ['sim-a', simA, 'r1', 4],
      ['sim-b', simB, 'r2', 4],
      ['sim-c', simC, 'r2', 2],
    ] as const) {
      const registered = await paddock.registerBackend(name, sim, {
        region,
        capacity: { ...capacity, maxClusters },
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await Promise.all([simA?.close(), simB?.close(), simC?.close()]);
  });

  const createdIds: string[] = [];
  const createOps: string[] = [];

  it('places by capacity: least utilised first, ties by name; a full backend is skipped with its reason', async () => {
    // Capacities 4 / 4 / 2 clusters; utilisation after placing = (clusters + 1) / maxClusters.
    const expected = [
      'sim-a',
      'sim-b',
      'sim-a',
      'sim-b',
      'sim-c',
      'sim-a',
      'sim-b',
      'sim-a',
      'sim-b',
      'sim-c',
    ];
    const placed: string[] = [];
    for (let i = 0; i < expected.length; i++) {
      const response = await create();
      assert.equal(response.status, 202, JSON.stringify(response.body));
      createdIds.push(response.body.cluster.id);
      createOps.push(response.body.operation.id);
      placed.push(await backendOf(response.body.cluster.id));
    }
    assert.deepEqual(placed, expected);

    const full = await create();
    assert.equal(full.status, 503);
    assert.equal(full.body.code, NO_BACKEND);
    assert.deepEqual(full.body.reasons, {
      'sim-a': 'cluster capacity 4 reached',
      'sim-b': 'cluster capacity 4 reached',
      'sim-c': 'cluster capacity 2 reached',
    });

    const list = await paddock.request('GET', '/v1/admin/backends');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.items.map((b: any) => [b.name, b.clusters, b.nodes, b.capacity.maxClusters]),
      [
        ['sim-a', 4, 12, 4],
        ['sim-b', 4, 12, 4],
        ['sim-c', 2, 6, 2],
      ],
    );
  });

  it('gives capacity back when a cluster is deleted', async () => {
    for (const op of createOps) assert.equal((await paddock.waitForOperation(op)).state, 'succeeded');
    const first = (await paddock.db.query('SELECT name FROM clusters WHERE id = $1', [createdIds[0]])).rows[0]
      .name;
    const deleted = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/${first}`);
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    // Capacity is given back when the delete is done, not when it is accepted.
    assert.equal((await paddock.request('GET', '/v1/admin/backends/sim-a')).body.clusters, 4);
    assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    const a = (await paddock.request('GET', '/v1/admin/backends/sim-a')).body;
    assert.deepEqual([a.clusters, a.nodes], [3, 9]);
    assert.deepEqual(await counters('sim-a'), { clusters_count: 3, nodes_count: 9 });

    // The freed slot is the only one left, so the next create takes it.
    const next = await create();
    assert.equal(next.status, 202, JSON.stringify(next.body));
    assert.equal(await backendOf(next.body.cluster.id), 'sim-a');
    assert.equal((await create()).status, 503);
  });

  it('places by region', async () => {
    for (const name of ['sim-a', 'sim-b', 'sim-c'])
      await patch(name, { capacity: { maxClusters: 100, maxNodes: 1000 } });
    // sim-a 4 clusters, sim-b 4, sim-c 2.
    const r1 = await create({ region: 'r1' });
    assert.equal(r1.status, 202);
    assert.equal(await backendOf(r1.body.cluster.id), 'sim-a');
    const r2 = await create({ region: 'r2' });
    assert.equal(r2.status, 202);
    assert.equal(await backendOf(r2.body.cluster.id), 'sim-c', 'the less utilised backend of r2');

    // A region no backend is in is the client's mistake, refused before placement is tried.
    const nowhere = await create({ region: 'mars' });
    assert.equal(nowhere.status, 422);
    assert.equal(nowhere.body.code, 'REGION_UNKNOWN');
    assert.deepEqual(
      nowhere.body.errors.map((e: { field: string }) => e.field),
      ['region'],
    );
  });

  it('places by flavor: a backend lacking the flavor is skipped', async () => {
    // sim-a holds 5 clusters, sim-b 4, sim-c 3: with sim-c at 4 clusters max it is the most utilised
    // candidate, so only the flavor can send the cluster there.
    await patch('sim-c', { capacity: { maxClusters: 4, maxNodes: 1000 } });
    const gpu = await create({ nodePools: gpuPools });
    assert.equal(gpu.status, 202, JSON.stringify(gpu.body));
    assert.equal(await backendOf(gpu.body.cluster.id), 'sim-c');
    const row = (
      await paddock.db.query(
        `SELECT node_template_id FROM node_pools WHERE cluster_id = $1 AND name = 'gpu'`,
        [gpu.body.cluster.id],
      )
    ).rows[0];
    assert.equal(row.node_template_id, simC.nodeTemplates.find((t) => t.name === 'g1.gpu')!.id);

    const inR1 = await create({ region: 'r1', nodePools: gpuPools });
    assert.equal(inR1.status, 503);
    assert.deepEqual(inR1.body.reasons, {
      'sim-a': 'does not offer g1.gpu',
      'sim-b': 'region is r2',
      'sim-c': 'region is r2',
    });
    await patch('sim-c', { capacity: { maxClusters: 100, maxNodes: 1000 } });
  });

  it('places nothing on draining or disabled backends; clusters on a draining backend keep working', async () => {
    await patch('sim-a', { state: 'draining' });
    await patch('sim-b', { state: 'disabled' });
    try {
      for (let i = 0; i < 3; i++) {
        const response = await create();
        assert.equal(response.status, 202);
        assert.equal(await backendOf(response.body.cluster.id), 'sim-c');
      }
      const inR1 = await create({ region: 'r1' });
      assert.equal(inR1.status, 503);
      assert.deepEqual(inR1.body.reasons, {
        'sim-a': 'state is draining',
        'sim-b': 'state is disabled',
        'sim-c': 'region is r2',
      });

      // A cluster on the draining backend scales (growth is counted against sim-a, which is
      // draining: draining refuses new clusters, not changes to existing ones).
      const name = (await paddock.db.query('SELECT name FROM clusters WHERE id = $1', [createdIds[2]]))
        .rows[0].name;
      const before = await counters('sim-a');
      const scaled = await paddock.request(
        'PATCH',
        `/v1/projects/${PROJECT}/clusters/${name}/node-pools/workers`,
        {
          quantity: 3,
        },
      );
      assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
      assert.equal((await paddock.waitForOperation(scaled.body.id)).state, 'succeeded');
      assert.deepEqual(await counters('sim-a'), { ...before, nodes_count: before.nodes_count + 1 });
      const rancherPool = (
        await paddock.db.query(
          `SELECT p.rancher_id FROM node_pools p WHERE p.cluster_id = $1 AND p.name = 'workers'`,
          [createdIds[2]],
        )
      ).rows[0].rancher_id;
      assert.equal((await simA.rancher('GET', `/v3/nodepools/${rancherPool}`)).body.quantity, 3);
      assert.equal((await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`)).status, 200);

      // Nothing active at all: the flavor exists, nothing can take it now → 503, not a 400.
      await patch('sim-c', { state: 'draining' });
      const none = await create();
      assert.equal(none.status, 503, JSON.stringify(none.body));
      assert.deepEqual(none.body.reasons, {
        'sim-a': 'state is draining',
        'sim-b': 'state is disabled',
        'sim-c': 'state is draining',
      });
    } finally {
      for (const name of ['sim-a', 'sim-b', 'sim-c']) await patch(name, { state: 'active' });
    }
  });

  it('takes a backend that stops answering out of placement within about two probe periods, and back', async () => {
    await patch('sim-c', { state: 'draining' });
    try {
      await simB.faults.add({ status: 503 });
      const started = Date.now();
      const unhealthy = await waitFor(
        'sim-b unhealthy',
        async () => {
          const b = (await paddock.request('GET', '/v1/admin/backends/sim-b')).body;
          return b.health.state === 'unhealthy' && b;
        },
        15_000,
      );
      const detectMs = Date.now() - started;
      console.log(
        `# sim-b unhealthy ${detectMs} ms after it stopped answering (probe period ${PROBE_PERIOD_MS} ms)`,
      );
      // Two probe periods, plus the retries inside one probe (≈1.4 s of backoff) and scheduling.
      assert.ok(detectMs < 2 * PROBE_PERIOD_MS + 3_000, `took ${detectMs} ms`);
      assert.ok(unhealthy.health.consecutiveFailures >= 2);
      assert.match(unhealthy.health.lastError, /unavailable|server|circuit-open/);
      assert.equal(typeof unhealthy.health.lastHealthyAt, 'string');

      const refused = await create({ region: 'r2' });
      assert.equal(refused.status, 503);
      assert.deepEqual(refused.body.reasons, {
        'sim-a': 'region is r1',
        'sim-b': 'unhealthy (failed its last probes)',
        'sim-c': 'state is draining',
      });
      // Elsewhere placement goes on.
      const elsewhere = await create();
      assert.equal(elsewhere.status, 202);
      assert.equal(await backendOf(elsewhere.body.cluster.id), 'sim-a');

      await simB.faults.clear();
      const cleared = Date.now();
      const healthy = await waitFor(
        'sim-b healthy',
        async () => {
          const b = (await paddock.request('GET', '/v1/admin/backends/sim-b')).body;
          return b.health.state === 'healthy' && b;
        },
        20_000,
      );
      console.log(`# sim-b healthy again ${Date.now() - cleared} ms after it recovered`);
      assert.equal(healthy.health.consecutiveFailures, 0);
      assert.equal(healthy.health.lastError, null);
      const back = await create({ region: 'r2' });
      assert.equal(back.status, 202, JSON.stringify(back.body));
      assert.equal(await backendOf(back.body.cluster.id), 'sim-b');
    } finally {
      await simB.faults.clear();
      await patch('sim-c', { state: 'active' });
    }
  });

  /** Fires `total` creates at once; returns the statuses and the 503 bodies. */
  async function burst(total: number, overrides: Record<string, unknown> = {}) {
    const prefix = `burst-${++seq}`;
    const responses = await Promise.all(
      Array.from({ length: total }, (_, i) => create(overrides, `${prefix}-${i}`)),
    );
    return responses;
  }

  it('concurrent creates at the last free cluster slots: exactly N accepted, never overfilled', async () => {
    const N = 10;
    await patch('sim-a', { state: 'disabled' });
    await patch('sim-b', { state: 'disabled' });
    try {
      const before = await counters('sim-c');
      await patch('sim-c', { capacity: { maxClusters: before.clusters_count + N, maxNodes: 100_000 } });
      const responses = await burst(N + 20);
      const statuses = responses.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 202).length, N, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 503).length, 20, JSON.stringify(statuses));
      for (const r of responses.filter((r) => r.status === 503)) {
        assert.equal(r.body.code, NO_BACKEND);
        assert.deepEqual(Object.keys(r.body.reasons).sort(), ['sim-a', 'sim-b', 'sim-c']);
        assert.match(
          r.body.reasons['sim-c'],
          new RegExp(
            `^(cluster capacity ${before.clusters_count + N} reached|capacity taken by a concurrent create)$`,
          ),
        );
      }
      for (const r of responses.filter((r) => r.status === 202))
        assert.equal(await backendOf(r.body.cluster.id), 'sim-c');
      const afterBurst = await counters('sim-c');
      assert.equal(afterBurst.clusters_count, before.clusters_count + N);
      assert.equal(afterBurst.nodes_count, before.nodes_count + 3 * N);
      const live = (
        await paddock.db.query(
          `SELECT count(*)::int AS n FROM clusters c JOIN backends b ON b.id = c.backend_id
           WHERE b.name = 'sim-c' AND c.state NOT IN ('deleted', 'failed')`,
        )
      ).rows[0].n;
      assert.equal(live, afterBurst.clusters_count, 'the counter matches the live clusters');
    } finally {
      await patch('sim-c', { capacity: { maxClusters: 1000, maxNodes: 100_000 } });
    }
  });

  it('concurrent creates at the last free node capacity: exactly N accepted', async () => {
    const N = 7;
    try {
      const before = await counters('sim-c');
      // Each create asks for 3 nodes; room for N of them and 2 spare nodes.
      await patch('sim-c', { capacity: { maxClusters: 1000, maxNodes: before.nodes_count + 3 * N + 2 } });
      const responses = await burst(N + 20);
      const statuses = responses.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 202).length, N, JSON.stringify(statuses));
      assert.equal(statuses.filter((s) => s === 503).length, 20);
      for (const r of responses.filter((r) => r.status === 503)) {
        assert.match(
          r.body.reasons['sim-c'],
          new RegExp(
            `^(node capacity ${before.nodes_count + 3 * N + 2} reached|capacity taken by a concurrent create)$`,
          ),
        );
      }
      const afterBurst = await counters('sim-c');
      assert.deepEqual(afterBurst, {
        clusters_count: before.clusters_count + N,
        nodes_count: before.nodes_count + 3 * N,
      });
      // A one-node cluster still fits in the 2 spare nodes.
      const small = await create({
        nodePools: [
          { name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 'm1.large' },
        ],
      });
      assert.equal(small.status, 202, JSON.stringify(small.body));
      assert.equal(await backendOf(small.body.cluster.id), 'sim-c');
    } finally {
      for (const name of ['sim-a', 'sim-b']) await patch(name, { state: 'active' });
    }
  });
});
