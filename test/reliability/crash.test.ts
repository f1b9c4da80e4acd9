/**
 * Crashes and outages, on one Paddock with child-process workers, short leases and a Redis
 * database of its own (db 9, because it gets flushed):
 *   - SIGKILL of a worker at a random point, 24 trials: each trial puts creates, a scale and a
 *     delete in flight, kills the oldest worker after a random 0–2 s and starts a new one; the
 *     trials overlap, so kills land at every step (and during boot, relay, sync and compensation);
 *   - Redis FLUSHDB right after a 202, then twice while operations are in flight (and a worker
 *     killed in between); the sync schedules come back;
 *   - one backend down for a minute (503 on every path): its
 *     in-flight operations complete once it is back, new creates go to another backend meanwhile,
 *     and reads are served throughout.
 * THE CHECKS run over every backend at the end. A kill at each named step: crash-steps.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { QUEUES, QUOTA_RECONCILE_SCHEDULER_ID } from '../../src/queue/queues';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import {
  addBackend,
  CaseBackend,
  closeCheckingSystem,
  count,
  sleep,
  workerPool,
} from '../support/reliability';
import { assertSystemInvariants } from '../support/reliability-checks';

const TRIALS = Number(process.env.RELIABILITY_KILL_TRIALS ?? 24);
const WORKERS = 3;
const OUTAGE_MS = Number(process.env.RELIABILITY_OUTAGE_MS ?? 60_000);
const LEASE_MS = 2_000;
/** Active clusters created before the trials, so there is something to scale and delete at once. */
const SEEDS = 8;

const single = (name: string, region: string, quantity = 1) => ({
  name,
  region,
  nodePools: [{ name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity, flavor: 'm1.large' }],
});

/** A Rancher cluster create, by backend kind. */
const CLUSTER_POST = {
  rke1: /^\/v3\/clusters$/,
  rke2: /^\/v1\/provisioning\.cattle\.io\.clusters$/,
} as const;

describe('reliability: worker SIGKILLs, Redis flushes and a backend down for a minute', () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  /** WORKERS worker processes; the oldest live one is killed first. */
  let workers: ReturnType<typeof workerPool>;

  before(async () => {
    paddock = await startPaddock({
      workers: 'child',
      redisDb: 9,
      env: {
        PADDOCK_OPERATION_LEASE_MS: String(LEASE_MS),
        PADDOCK_SWEEP_PERIOD_MS: '1000',
        PADDOCK_PROBE_PERIOD_MS: '1000',
        PADDOCK_SYNC_PERIOD_MS: '500',
        // Operations of the backend that is down must outlive the outage plus the retry backoff.
        PADDOCK_OPERATION_DEADLINE_MS: String(OUTAGE_MS + 90_000),
      },
    });
    workers = workerPool(paddock, WORKERS);
    for (const name of ['kill', 'flush', 'outage'])
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    // The kill trials create SEEDS + 2 × TRIALS clusters and delete some of them; how many deletes
    // have finished when a create arrives depends on the machine's speed, so the quota must hold
    // every cluster the scenario can ever create (and two nodes each: scales toggle 1 ↔ 2).
    const killClusters = SEEDS + 2 * TRIALS;
    const quota = await paddock.request('PUT', '/v1/admin/projects/kill/quota', {
      clusters: killClusters,
      nodes: 2 * killClusters,
    });
    assert.equal(quota.status, 200, JSON.stringify(quota.body));
  });

  after(() => closeCheckingSystem(paddock, backends, { label: 'crash', terminalTimeoutMs: 120_000 }));

  async function backend(name: string, options: Parameters<typeof addBackend>[2] = {}, extra = {}) {
    const b = await addBackend(paddock, name, options);
    if (Object.keys(extra).length > 0) {
      const patched = await paddock.request('PATCH', `/v1/admin/backends/${name}`, extra);
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    }
    backends.push(b);
    return b;
  }

  async function post(project: string, body: unknown) {
    const r = await paddock.request('POST', `/v1/projects/${project}/clusters`, body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body as { cluster: { id: string; name: string }; operation: { id: string } };
  }

  /** Active clusters of `project` with nothing in flight (candidates for a scale or a delete). */
  async function idleActive(
    project: string,
    region: string,
  ): Promise<Array<{ name: string; quantity: number }>> {
    const { rows } = await paddock.db.query(
      `SELECT c.name, (SELECT np.quantity FROM node_pools np WHERE np.cluster_id = c.id AND np.name = 'all') AS quantity
       FROM clusters c JOIN projects p ON p.id = c.project_id
       WHERE p.name = $1 AND c.region = $2 AND c.state = 'active'
         AND NOT EXISTS (SELECT 1 FROM operations o WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running'))
       ORDER BY random()`,
      [project, region],
    );
    return rows;
  }

  async function runningSteps(): Promise<string[]> {
    const { rows } = await paddock.db.query(
      `SELECT DISTINCT split_part(s.name, ':', 1) AS step FROM operation_steps s JOIN operations o ON o.id = s.operation_id
       WHERE o.state = 'running' AND s.state = 'running'`,
    );
    return rows.map((r: { step: string }) => r.step);
  }

  async function expectSucceeded(ids: Array<{ id: string; what: string }>, timeoutMs = 120_000) {
    for (const { id, what } of ids) {
      const op = await paddock.waitForOperation(id, timeoutMs);
      assert.equal(op.state, 'succeeded', `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    }
  }

  it(`SIGKILL of a worker at random points: ${TRIALS} trials`, async () => {
    const t0 = Date.now();
    const region = 'kill';
    const ks: CaseBackend[] = [];
    // One backend of each kind: kill-1 an rke1 (Rancher 2.11), kill-2 an rke2 (a simulated 2.12).
    for (const [name, version] of [
      ['kill-1', undefined],
      ['kill-2', 'v2.12.3'],
    ] as const)
      ks.push(
        await backend(name, {
          ...(version ? { version } : {}),
          timings: { permissionWindowMs: 500, nodeProvisionMs: 700, clusterDeleteMs: 700 },
        }),
      );
    // Both backends serve region `kill` (addBackend pins each to its own name).
    for (const b of ks) {
      const patched = await paddock.request('PATCH', `/v1/admin/backends/${b.name}`, { region });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    }
    // Active clusters to scale and delete from the first trial on.
    const seeded: Array<{ id: string; what: string }> = [];
    for (let i = 0; i < SEEDS; i++)
      seeded.push({ id: (await post('kill', single(`seed-${i}`, region))).operation.id, what: `seed ${i}` });
    await expectSucceeded(seeded);
    const ops: Array<{ id: string; what: string }> = [];
    const tally = { creates: 0, scales: 0, deletes: 0, refused: 0 };
    const killPoints: Record<string, number> = {};
    let n = 0;
    const trialsStart = Date.now();
    for (let trial = 1; trial <= TRIALS; trial++) {
      // A few operations of every kind in flight.
      for (let i = 0; i < 2; i++) {
        const name = `k${trial}-${i}`;
        ops.push({ id: (await post('kill', single(name, region))).operation.id, what: `create ${name}` });
        tally.creates++;
      }
      const idle = await idleActive('kill', region);
      const toScale = idle[0];
      if (toScale) {
        const r = await paddock.request(
          'PATCH',
          `/v1/projects/kill/clusters/${toScale.name}/node-pools/all`,
          {
            quantity: toScale.quantity === 1 ? 2 : 1,
          },
        );
        if (r.status === 202) {
          ops.push({ id: r.body.id, what: `scale ${toScale.name}` });
          tally.scales++;
        } else tally.refused++;
      }
      const toDelete = trial % 2 === 0 ? idle[1] : undefined;
      if (toDelete) {
        const r = await paddock.request('DELETE', `/v1/projects/kill/clusters/${toDelete.name}`);
        if (r.status === 202) {
          ops.push({ id: r.body.id, what: `delete ${toDelete.name}` });
          tally.deletes++;
        } else tally.refused++;
      }
      await sleep(Math.floor(Math.random() * 2_000));
      for (const step of await runningSteps()) killPoints[step] = (killPoints[step] ?? 0) + 1;
      await workers.killOldest();
      n++;
    }
    const killedAt = Date.now();
    await expectSucceeded(ops);
    console.log(
      `[crash kill] ${n} trials in ${killedAt - trialsStart} ms (scenario so far ${killedAt - t0} ms), ${workers.killed} SIGKILLs so far; ${JSON.stringify(tally)} operations ` +
        `all succeeded ${Date.now() - killedAt} ms after the last kill; steps running at the kills: ${JSON.stringify(killPoints)}`,
    );
    assert.equal(n, TRIALS);
    for (const b of ks) {
      const calls = await b.sim.calls();
      const clusters = (
        await paddock.db.query(
          `SELECT count(*)::int AS n FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE b.name = $1`,
          [b.name],
        )
      ).rows[0].n;
      assert.equal(
        count(calls, 'POST', CLUSTER_POST[b.kind], 201),
        clusters,
        `${b.name} (${b.kind}): one Rancher create per Paddock cluster`,
      );
    }
    await assertSystemInvariants(
      paddock,
      ks.map((b) => b.sim),
      { label: 'crash kill' },
    );
  });

  for (const kind of ['rke1', 'rke2'] as const)
    it(`Redis FLUSHDB twice while operations are in flight (${kind} backend)`, async () => {
      const t0 = Date.now();
      // Cluster names and the backend's region differ per kind; the project is shared.
      const n = (name: string) => (kind === 'rke1' ? name : `r2-${name}`);
      const region = kind === 'rke1' ? 'flush' : 'flush-rke2';
      const b = await backend(region, {
        ...(kind === 'rke2' ? { version: 'v2.12.3' } : {}),
        timings: { permissionWindowMs: 600, nodeProvisionMs: 1_000 },
      });
      const ops: Array<{ id: string; what: string }> = [];
      for (let i = 0; i < 3; i++)
        ops.push({ id: (await post('flush', single(n(`pre-${i}`), region))).operation.id, what: `pre ${i}` });
      await expectSucceeded(ops.splice(0));
      // Flushed right after a 202: the relay's job is gone before any step ran.
      ops.push({
        id: (await post('flush', single(n('fl-early'), region))).operation.id,
        what: 'create fl-early',
      });
      await paddock.redis.flushdb();
      await expectSucceeded(ops.splice(0));
      for (let i = 0; i < 4; i++)
        ops.push({
          id: (await post('flush', single(n(`fl-${i}`), region))).operation.id,
          what: `create fl-${i}`,
        });
      const scaled = await paddock.request(
        'PATCH',
        `/v1/projects/flush/clusters/${n('pre-0')}/node-pools/all`,
        {
          quantity: 3,
        },
      );
      assert.equal(scaled.status, 202);
      ops.push({ id: scaled.body.id, what: 'scale pre-0' });
      const deleted = await paddock.request('DELETE', `/v1/projects/flush/clusters/${n('pre-1')}`);
      assert.equal(deleted.status, 202);
      ops.push({ id: deleted.body.id, what: 'delete pre-1' });
      await waitFor('a create-cluster step done', async () => {
        const { rows } = await paddock.db.query(
          `SELECT 1 FROM operation_steps WHERE operation_id = $1 AND name = 'create-cluster' AND state = 'succeeded'`,
          [ops[0].id],
        );
        return rows.length > 0;
      });
      await paddock.redis.flushdb();
      await sleep(700);
      await workers.killOldest();
      await paddock.redis.flushdb();
      const flushedAt = Date.now();
      await expectSucceeded(ops);
      const calls = await b.sim.calls();
      assert.equal(
        count(calls, 'POST', CLUSTER_POST[kind], 201),
        8,
        'one Rancher create per Paddock cluster',
      );
      // The sync's job schedulers live in Redis too: they must come back after the flush.
      await waitFor(
        'statusUpdatedAt to advance after the flush',
        async () =>
          Date.parse(
            (await paddock.request('GET', `/v1/projects/flush/clusters/${n('pre-2')}`)).body
              .statusUpdatedAt ?? '',
          ) > flushedAt,
        30_000,
      );
      // So must every cluster-wide scheduler, the quota reconcile's (on its own queue) included.
      const connection = paddock.redis.duplicate();
      const quotaQueue = new Queue(QUEUES.quotaReconcile, {
        connection,
        prefix: paddock.config.queuePrefix,
      });
      try {
        await waitFor(
          'the quota reconcile scheduler to be back after the flush',
          async () => (await quotaQueue.getJobScheduler(QUOTA_RECONCILE_SCHEDULER_ID)) != null,
          30_000,
        );
      } finally {
        await quotaQueue.close();
        connection.disconnect();
      }
      console.log(
        `[crash flush ${kind}] 2 FLUSHDBs (+1 SIGKILL) with ${ops.length} operations in flight: all succeeded ` +
          `${Date.now() - flushedAt} ms after the last flush (scenario ${Date.now() - t0} ms)`,
      );
      await assertSystemInvariants(paddock, [b.sim], { label: `crash flush ${kind}` });
    });

  it(`one backend down for ${OUTAGE_MS / 1000} s: in-flight work completes after, new creates go elsewhere, reads served`, async () => {
    const t0 = Date.now();
    // `down` is nearly empty and large, `spare` small: by utilisation alone placement prefers `down`.
    const down = await backend(
      'down',
      { timings: { permissionWindowMs: 800, nodeProvisionMs: 1_500 } },
      {
        region: 'outage',
        capacity: { maxClusters: 1_000, maxNodes: 10_000 },
      },
    );
    const ops: Array<{ id: string; what: string }> = [];
    for (let i = 0; i < 3; i++)
      ops.push({ id: (await post('outage', single(`base-${i}`, 'outage'))).operation.id, what: `base ${i}` });
    await expectSucceeded(ops.splice(0));
    // In flight when the backend goes down: creates, a scale, a delete.
    for (let i = 0; i < 3; i++)
      ops.push({
        id: (await post('outage', single(`inflight-${i}`, 'outage'))).operation.id,
        what: `create inflight-${i}`,
      });
    const scaled = await paddock.request('PATCH', '/v1/projects/outage/clusters/base-0/node-pools/all', {
      quantity: 2,
    });
    assert.equal(scaled.status, 202);
    ops.push({ id: scaled.body.id, what: 'scale base-0' });
    const deleted = await paddock.request('DELETE', '/v1/projects/outage/clusters/base-1');
    assert.equal(deleted.status, 202);
    ops.push({ id: deleted.body.id, what: 'delete base-1' });
    await sleep(300);
    await down.sim.faults.add({ status: 503 });
    const downAt = Date.now();
    const spare = await backend(
      'spare',
      {},
      { region: 'outage', capacity: { maxClusters: 20, maxNodes: 200 } },
    );

    await waitFor(
      'the backend to be marked unhealthy',
      async () =>
        (await paddock.db.query(`SELECT health FROM backends WHERE name = 'down'`)).rows[0].health ===
        'unhealthy',
      30_000,
    );
    const unhealthyAfter = Date.now() - downAt;

    // New creates go elsewhere; reads are served from Postgres: every backend call answers 503 now,
    // so a 200 proves the read never waited on it. Their latencies are printed, not asserted.
    const during: Array<{ id: string; what: string }> = [];
    const readMs: number[] = [];
    let i = 0;
    while (i === 0 || Date.now() - downAt < OUTAGE_MS - 5_000) {
      const created = await post('outage', single(`during-${i}`, 'outage'));
      during.push({ id: created.operation.id, what: `create during-${i}` });
      const placed = await paddock.db.query(
        `SELECT b.name FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE c.id = $1`,
        [created.cluster.id],
      );
      assert.equal(placed.rows[0].name, 'spare', 'a create during the outage goes to the healthy backend');
      for (const path of [
        '/v1/projects/outage/clusters/base-2',
        '/v1/projects/outage/clusters?limit=100',
        `/v1/operations/${ops[0].id}`,
      ]) {
        const started = Date.now();
        const read = await paddock.request('GET', path);
        readMs.push(Date.now() - started);
        assert.equal(read.status, 200, `${path} during the outage: ${JSON.stringify(read.body)}`);
      }
      i++;
      await sleep(Math.min(5_000, Math.max(0, OUTAGE_MS - 5_000 - (Date.now() - downAt))));
    }
    // Nothing that was in flight on the backend has given up during the outage.
    const { rows: gaveUp } = await paddock.db.query(
      `SELECT id, type, error_code FROM operations WHERE id = ANY($1) AND state = 'failed'`,
      [ops.map((o) => o.id)],
    );
    assert.deepEqual(gaveUp, [], 'no in-flight operation failed during the outage');
    const stillRunning = (
      await paddock.db.query(
        `SELECT count(*)::int AS n FROM operations WHERE id = ANY($1) AND state IN ('pending', 'running')`,
        [ops.map((o) => o.id)],
      )
    ).rows[0].n;
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - downAt)));
    await down.sim.faults.clear();
    const upAt = Date.now();
    await expectSucceeded(ops, OUTAGE_MS + 90_000);
    const recoveredAfter = Date.now() - upAt;
    await expectSucceeded(during);
    await waitFor(
      'the backend to be healthy again',
      async () =>
        (await paddock.db.query(`SELECT health FROM backends WHERE name = 'down'`)).rows[0].health ===
        'healthy',
      30_000,
    );
    readMs.sort((a, b) => a - b);
    console.log(
      `[crash outage] backend down ${upAt - downAt} ms; unhealthy after ${unhealthyAfter} ms; ${during.length} creates ` +
        `during the outage all placed on 'spare'; ${readMs.length} reads all 200 (p50 ${readMs[Math.floor(readMs.length / 2)]} ms, ` +
        `max ${readMs[readMs.length - 1]} ms); ${stillRunning}/${ops.length} in-flight operations waited it out and ` +
        `all succeeded ${recoveredAfter} ms after it came back (scenario ${Date.now() - t0} ms)`,
    );
    await assertSystemInvariants(paddock, [down.sim, spare.sim], { label: 'crash outage' });
  });
});
