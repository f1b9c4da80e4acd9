/**
 * One backend dies mid-run (issue 5, "Health and isolation"): new creates land on the other two
 * and complete promptly, the dead backend's clusters stay readable from Postgres and are marked
 * `BackendReachable=False` with a `statusUpdatedAt` that stops advancing, an operation started at
 * the outage pauses and completes once the backend returns (within its deadline), and the
 * backend shows unhealthy then healthy again, in the admin API and in /metrics. Then a second
 * backend turns slow (every answer later than the client timeout) with the same outcome for the
 * others.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'iso';
const PROBE_PERIOD_MS = 300;
const DEADLINE_MS = 60_000;
/** An operation on a healthy backend must finish within this, whatever the others do. */
const PROMPT_MS = 10_000;

describe('backends: isolation of a dead or slow backend', { timeout: 120_000 }, () => {
  let paddock: TestPaddock;
  const sims: Record<string, TestSimulator> = {};

  const backendOf = async (clusterId: string) =>
    (
      await paddock.db.query<{ name: string }>(
        'SELECT b.name FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE c.id = $1',
        [clusterId],
      )
    ).rows[0].name;

  const getCluster = (name: string) => paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`);
  const reachable = (cluster: any) =>
    cluster.conditions.find((c: { type: string }) => c.type === 'BackendReachable')?.status;

  async function healthOf(name: string): Promise<string> {
    return (await paddock.request('GET', `/v1/admin/backends/${name}`)).body.health.state;
  }

  async function metricHealthy(name: string): Promise<number | undefined> {
    const text = (await paddock.request('GET', '/metrics')).body as string;
    const match = new RegExp(`^paddock_backend_healthy\\{backend="${name}"\\} (\\d+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  }

  /** Creates `count` clusters without a region; each must be accepted and succeed within PROMPT_MS. */
  async function createPromptly(prefix: string, count: number) {
    const results = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const started = Date.now();
        const response = await paddock.request(
          'POST',
          `/v1/projects/${PROJECT}/clusters`,
          clusterBody(`${prefix}-${i}`),
        );
        const acceptMs = Date.now() - started;
        assert.equal(response.status, 202, JSON.stringify(response.body));
        const op = await paddock.waitForOperation(response.body.operation.id, PROMPT_MS + 5_000);
        const doneMs = Date.now() - started;
        assert.equal(op.state, 'succeeded', JSON.stringify(op));
        return { backend: await backendOf(response.body.cluster.id), acceptMs, doneMs };
      }),
    );
    const worst = Math.max(...results.map((r) => r.doneMs));
    console.log(
      `# ${prefix}: ${count} creates on ${[...new Set(results.map((r) => r.backend))].join('+')}; ` +
        `202 in ≤ ${Math.max(...results.map((r) => r.acceptMs))} ms, succeeded in ≤ ${worst} ms`,
    );
    assert.ok(worst < PROMPT_MS, `slowest create took ${worst} ms`);
    return results;
  }

  before(async () => {
    for (const name of ['sim-a', 'sim-b', 'sim-c'])
      sims[name] = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({
      env: {
        PADDOCK_PROBE_PERIOD_MS: String(PROBE_PERIOD_MS),
        PADDOCK_OPERATION_DEADLINE_MS: String(DEADLINE_MS),
        PADDOCK_DEFAULT_QUOTA_CLUSTERS: '10000',
        PADDOCK_DEFAULT_QUOTA_NODES: '1000000',
      },
    });
    for (const [name, sim] of Object.entries(sims)) {
      const registered = await paddock.registerBackend(name, sim, { region: name });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s.close()));
  });

  it('a dead backend: others unaffected, its clusters readable and stale, its operation resumes on return', async () => {
    // Two clusters on sim-b, active and synced.
    for (const name of ['b-1', 'b-2']) {
      const created = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody(name, { region: 'sim-b' }),
      );
      assert.equal(created.status, 202);
      assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
    }
    await waitFor('b-1 synced', async () => {
      const c = (await getCluster('b-1')).body;
      return c.statusUpdatedAt !== null && reachable(c) === 'True';
    });
    assert.equal(await metricHealthy('sim-b'), 1);

    // The outage, and a scale requested at that moment.
    await sims['sim-b'].faults.add({ status: 503 });
    const down = Date.now();
    const scale = await paddock.request('PATCH', `/v1/projects/${PROJECT}/clusters/b-1/node-pools/workers`, {
      quantity: 3,
    });
    // Every call to sim-b answers 503 now, so a 202 proves the request did not wait on the backend.
    assert.equal(scale.status, 202, 'accepted without calling the backend');

    await waitFor('sim-b unhealthy', async () => (await healthOf('sim-b')) === 'unhealthy', 15_000);
    console.log(`# sim-b unhealthy after ${Date.now() - down} ms`);
    assert.equal(await metricHealthy('sim-b'), 0);
    assert.equal(await metricHealthy('sim-a'), 1);
    assert.equal(await metricHealthy('sim-c'), 1);

    // New creates land on sim-a and sim-c and finish promptly.
    const placed = await createPromptly('during-outage', 6);
    // Simultaneous creates all see the same committed usage, so they may share one backend; what
    // matters is that none lands on the dead one.
    for (const p of placed) assert.ok(['sim-a', 'sim-c'].includes(p.backend), `placed on ${p.backend}`);

    // sim-b's clusters: served from Postgres, marked unreachable, status age frozen.
    const stale = await waitFor('b-2 marked unreachable', async () => {
      const c = (await getCluster('b-2')).body;
      return reachable(c) === 'False' && c;
    });
    const readStarted = Date.now();
    const again = await getCluster('b-2');
    assert.equal(again.status, 200);
    assert.ok(Date.now() - readStarted < 500, 'read from Postgres, not from the dead backend');
    await new Promise((resolve) => setTimeout(resolve, 4 * 300)); // four sync periods
    const later = (await getCluster('b-2')).body;
    assert.equal(later.statusUpdatedAt, stale.statusUpdatedAt, 'statusUpdatedAt does not advance');
    assert.equal(reachable(later), 'False');
    assert.equal(later.state, 'active');

    // The scale is paused, not failed.
    const paused = (await paddock.request('GET', `/v1/operations/${scale.body.id}`)).body;
    assert.ok(['pending', 'running'].includes(paused.state), `scale is ${paused.state}`);
    const b = (await paddock.request('GET', '/v1/admin/backends/sim-b')).body;
    assert.ok(b.calls.errors > 0, `call errors counted: ${JSON.stringify(b.calls)}`);

    // The backend returns.
    await sims['sim-b'].faults.clear();
    const back = Date.now();
    await waitFor('sim-b healthy', async () => (await healthOf('sim-b')) === 'healthy', 20_000);
    console.log(`# sim-b healthy ${Date.now() - back} ms after it returned`);
    assert.equal(await metricHealthy('sim-b'), 1);
    const op = await paddock.waitForOperation(scale.body.id, 25_000);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.ok(Date.parse(op.finishedAt) < Date.parse(op.deadlineAt), 'within its deadline');
    console.log(`# the paused scale finished ${Date.now() - back} ms after sim-b returned`);
    const fresh = await waitFor('b-2 reachable again', async () => {
      const c = (await getCluster('b-2')).body;
      return reachable(c) === 'True' && c;
    });
    assert.ok(Date.parse(fresh.statusUpdatedAt) > Date.parse(stale.statusUpdatedAt));
    const b1 = (await getCluster('b-1')).body;
    assert.equal(b1.nodePools.find((p: { name: string }) => p.name === 'workers').quantity, 3);

    // And sim-b takes new clusters again.
    const pinned = await paddock.request(
      'POST',
      `/v1/projects/${PROJECT}/clusters`,
      clusterBody('b-3', { region: 'sim-b' }),
    );
    assert.equal(pinned.status, 202, JSON.stringify(pinned.body));
    assert.equal((await paddock.waitForOperation(pinned.body.operation.id)).state, 'succeeded');
  });

  it('a slow backend (answers later than the client timeout): others unaffected, back when fast', async () => {
    const slow = sims['sim-c'];
    // PADDOCK_RANCHER_TIMEOUT_MS is 1 s in the harness.
    await slow.faults.add({ delayMs: 2_500 });
    const since = Date.now();
    try {
      await waitFor('sim-c unhealthy', async () => (await healthOf('sim-c')) === 'unhealthy', 20_000);
      console.log(`# slow sim-c unhealthy after ${Date.now() - since} ms`);
      assert.equal(await metricHealthy('sim-c'), 0);
      const placed = await createPromptly('during-slowness', 6);
      for (const p of placed) assert.ok(['sim-a', 'sim-b'].includes(p.backend), `placed on ${p.backend}`);
      const refused = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody('c-x', { region: 'sim-c' }),
      );
      assert.equal(refused.status, 503);
      assert.equal(refused.body.reasons['sim-c'], 'unhealthy (failed its last probes)');
    } finally {
      await slow.faults.clear();
    }
    await waitFor('sim-c healthy', async () => (await healthOf('sim-c')) === 'healthy', 20_000);
    assert.equal(await metricHealthy('sim-c'), 1);
  });
});
