/**
 * Quota arithmetic on every path, end to end against a simulator, as a project member: what is
 * reserved at request time, what becomes usage when the operation succeeds, what is released
 * when it fails, is compensated, or is a delete or a shrink; refusals; a limit lowered below
 * usage; the reconcile job finding nothing to repair — and repairing drift made on purpose.
 * Creates, pool changes and their failures take different Rancher writes per backend kind, so the
 * whole sequence runs on an rke1 backend (simulated 2.11) and on an rke2 one (simulated 2.12);
 * `FAILING_WRITES` names the write each failure case makes fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addMember, bearer, issueToken, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { FaultSpec, startTestSimulator, TestSimulator } from '../support/simulator';

type Counters = { clusters: [number, number]; nodes: [number, number] };

const body = (name: string, control: number, workers: number) => ({
  name,
  nodePools: [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: control, flavor: 'm1.large' },
    { name: 'workers', roles: ['worker'], quantity: workers, flavor: 'm1.large' },
  ],
});

type Kind = 'rke1' | 'rke2';

/** The Rancher write that a failure case makes the backend refuse (422), per kind. */
const FAILING_WRITES: Record<Kind, { addPool: FaultSpec; create: FaultSpec; scale: FaultSpec }> = {
  rke1: {
    addPool: { method: 'POST', path: '^/v3/nodepools$', status: 422 },
    create: { method: 'POST', path: '^/v3/nodepools$', status: 422 },
    scale: { method: 'PUT', path: '^/v3/nodepools/', status: 422, times: 1 },
  },
  rke2: {
    // A pool is its machine config plus an update of the cluster; a create starts with the configs.
    addPool: {
      method: 'POST',
      path: '^/v1/rke-machine-config\\.cattle\\.io\\.openstackconfigs$',
      status: 422,
    },
    create: {
      method: 'POST',
      path: '^/v1/rke-machine-config\\.cattle\\.io\\.openstackconfigs$',
      status: 422,
    },
    scale: { method: 'PUT', path: '^/v1/provisioning\\.cattle\\.io\\.clusters/', status: 422, times: 1 },
  },
};

for (const kind of ['rke1', 'rke2'] as const)
  describe(`quota arithmetic (${kind} backend)`, () => {
    let paddock: TestPaddock;
    let sim: TestSimulator;
    let as: Record<string, string>;

    const call = (method: string, path: string, payload?: unknown) =>
      paddock.request(method, `/v1/projects/q${path}`, payload, as);

    /** [used, reserved] per resource, as a member sees them. */
    async function counters(): Promise<Counters> {
      const response = await call('GET', '/quota');
      assert.equal(response.status, 200);
      const { clusters, nodes } = response.body;
      assert.equal(clusters.available, Math.max(0, clusters.limit - clusters.used - clusters.reserved));
      return { clusters: [clusters.used, clusters.reserved], nodes: [nodes.used, nodes.reserved] };
    }

    /** The counters agree with the cluster tables: the reconcile job finds nothing to repair. */
    async function assertNoDrift() {
      const report = await paddock.request('POST', '/v1/admin/quotas/reconcile');
      assert.equal(report.status, 200);
      assert.deepEqual(report.body.repaired, []);
    }

    async function accepted(method: string, path: string, payload?: unknown): Promise<string> {
      const response = await call(method, path, payload);
      assert.equal(response.status, 202, JSON.stringify(response.body));
      return response.body.operation?.id ?? response.body.id;
    }

    async function finish(operationId: string, state: 'succeeded' | 'failed' = 'succeeded') {
      const op = await paddock.waitForOperation(operationId);
      assert.equal(op.state, state, JSON.stringify(op));
      return op;
    }

    before(async () => {
      sim = await startTestSimulator({
        nodeTemplates: [{ name: 'm1.large' }],
        ...(kind === 'rke2' ? { version: 'v2.12.3' } : {}),
      });
      paddock = await startPaddock();
      assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'q' })).status, 201);
      const quota = await paddock.request('PUT', '/v1/admin/projects/q/quota', { clusters: 3, nodes: 10 });
      assert.equal(quota.status, 200);
      assert.deepEqual(quota.body.nodes, { limit: 10, used: 0, reserved: 0, available: 10 });
      await addMember(paddock, 'q', 'dana');
      as = bearer((await issueToken(paddock, { subject: 'dana', role: 'member' })).secret);
    });

    after(async () => {
      await paddock?.close();
      await sim?.close();
    });

    it('a new project starts with the configured default limits', async () => {
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'fresh' })).status, 201);
      const quota = await paddock.request('GET', '/v1/admin/projects/fresh/quota');
      assert.equal(quota.body.clusters.limit, paddock.config.defaultQuota.clusters);
      assert.equal(quota.body.nodes.limit, paddock.config.defaultQuota.nodes);
      const overview = await paddock.request('GET', '/v1/admin/quotas');
      assert.deepEqual(
        overview.body.items.map((q: { project: string }) => q.project),
        ['fresh', 'q'],
      );
    });

    it('create: reserves 1 cluster + Σ quantity, which become usage when it succeeds', async () => {
      const op = await accepted('POST', '/clusters', body('c1', 1, 2));
      assert.deepEqual(await counters(), { clusters: [0, 1], nodes: [0, 3] });
      await assertNoDrift();
      await finish(op);
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [3, 0] });
    });

    it('add pool: reserves its quantity, used once it exists', async () => {
      const op = await accepted('POST', '/clusters/c1/node-pools', {
        name: 'extra',
        roles: ['worker'],
        quantity: 2,
        flavor: 'm1.large',
      });
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [3, 2] });
      await assertNoDrift();
      await finish(op);
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [5, 0] });
    });

    it('scale up: reserves the growth; scale down: releases when done', async () => {
      const up = await accepted('PATCH', '/clusters/c1/node-pools/workers', { quantity: 4 });
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [5, 2] });
      await assertNoDrift();
      await finish(up);
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [7, 0] });
      const down = await accepted('PATCH', '/clusters/c1/node-pools/workers', { quantity: 1 });
      // The nodes still exist until the shrink is done: they stay used.
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [7, 0] });
      await assertNoDrift();
      await finish(down);
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [4, 0] });
    });

    it('refuses growth beyond a limit with 409 QUOTA_EXCEEDED and writes nothing', async () => {
      const nodes = await call('POST', '/clusters', body('too-big', 1, 6));
      assert.equal(nodes.status, 409);
      assert.equal(nodes.body.code, 'QUOTA_EXCEEDED');
      assert.deepEqual(
        {
          resource: nodes.body.resource,
          limit: nodes.body.limit,
          used: nodes.body.used,
          reserved: nodes.body.reserved,
          requested: nodes.body.requested,
        },
        { resource: 'nodes', limit: 10, used: 4, reserved: 0, requested: 7 },
      );
      const scale = await call('PATCH', '/clusters/c1/node-pools/workers', { quantity: 8 });
      assert.equal(scale.status, 409);
      assert.equal(scale.body.requested, 7);
      const pool = await call('POST', '/clusters/c1/node-pools', {
        name: 'huge',
        roles: ['worker'],
        quantity: 7,
        flavor: 'm1.large',
      });
      assert.equal(pool.status, 409);
      assert.equal(pool.body.code, 'QUOTA_EXCEEDED');
      assert.equal(
        (await paddock.request('PUT', '/v1/admin/projects/q/quota', { clusters: 1, nodes: 10 })).status,
        200,
      );
      const clusters = await call('POST', '/clusters', body('one-more', 1, 1));
      assert.equal(clusters.status, 409);
      assert.equal(clusters.body.resource, 'clusters');
      assert.equal(clusters.body.limit, 1);
      assert.equal(clusters.body.requested, 1);
      const { rows } = await paddock.db.query(
        `SELECT count(*)::int AS n FROM clusters WHERE name IN ('too-big', 'one-more')`,
      );
      assert.equal(rows[0].n, 0);
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [4, 0] });
      assert.equal(
        (await paddock.request('PUT', '/v1/admin/projects/q/quota', { clusters: 3, nodes: 10 })).status,
        200,
      );
    });

    it('a limit lowered below usage is accepted and blocks growth only', async () => {
      const lowered = await paddock.request('PUT', '/v1/admin/projects/q/quota', { clusters: 3, nodes: 2 });
      assert.equal(lowered.status, 200);
      assert.deepEqual(lowered.body.nodes, { limit: 2, used: 4, reserved: 0, available: 0 });
      const grow = await call('PATCH', '/clusters/c1/node-pools/workers', { quantity: 2 });
      assert.equal(grow.status, 409);
      assert.equal(grow.body.code, 'QUOTA_EXCEEDED');
      // Changes that do not grow still work; so does a new pool-less request on clusters.
      await finish(await accepted('DELETE', '/clusters/c1/node-pools/extra'));
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
      await assertNoDrift();
      assert.equal(
        (await paddock.request('PUT', '/v1/admin/projects/q/quota', { clusters: 3, nodes: 10 })).status,
        200,
      );
    });

    it('a failed add-pool releases its reservation', async () => {
      await sim.faults.add(FAILING_WRITES[kind].addPool);
      try {
        const op = await accepted('POST', '/clusters/c1/node-pools', {
          name: 'doomed',
          roles: ['worker'],
          quantity: 3,
          flavor: 'm1.large',
        });
        assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 3] });
        const failed = await finish(op, 'failed');
        assert.equal(failed.error.code, 'BACKEND_REJECTED');
      } finally {
        await sim.faults.clear();
      }
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
      await assertNoDrift();
    });

    it('a compensated create releases the cluster and all its nodes', async () => {
      await sim.faults.add(FAILING_WRITES[kind].create);
      try {
        const op = await accepted('POST', '/clusters', body('c2', 1, 3));
        assert.deepEqual(await counters(), { clusters: [1, 1], nodes: [2, 4] });
        await finish(op, 'failed');
      } finally {
        await sim.faults.clear();
      }
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
      await assertNoDrift();
    });

    it('a failed scale-up is compensated and releases the growth', async () => {
      await sim.faults.add(FAILING_WRITES[kind].scale);
      try {
        const op = await accepted('PATCH', '/clusters/c1/node-pools/workers', { quantity: 5 });
        assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 4] });
        await finish(op, 'failed');
      } finally {
        await sim.faults.clear();
      }
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
      const cluster = await call('GET', '/clusters/c1');
      assert.equal(cluster.body.nodePools.find((p: { name: string }) => p.name === 'workers').quantity, 1);
      await assertNoDrift();
    });

    it('delete cluster: the cluster and its nodes count until the backend has deleted them', async () => {
      const op = await accepted('DELETE', '/clusters/c1');
      assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
      await assertNoDrift();
      await finish(op);
      assert.deepEqual(await counters(), { clusters: [0, 0], nodes: [0, 0] });
      await assertNoDrift();
    });

    // Quota reconciliation is SQL alone, whatever the kind; and /metrics can only be read from the
    // first Paddock a test process boots (its collectors stay registered process-wide), so once.
    if (kind === 'rke1')
      it('the reconcile job reports and repairs drift; gauges show limits and usage', async () => {
        await finish(await accepted('POST', '/clusters', body('c3', 1, 1)));
        await paddock.db.query(
          `UPDATE project_quotas SET nodes_used = 9, clusters_reserved = 2
       WHERE project_id = (SELECT id FROM projects WHERE name = 'q')`,
        );
        const report = await paddock.request('POST', '/v1/admin/quotas/reconcile');
        assert.equal(report.status, 200);
        assert.deepEqual(
          report.body.repaired.sort((a: { resource: string }, b: { resource: string }) =>
            a.resource.localeCompare(b.resource),
          ),
          [
            { project: 'q', resource: 'clusters', usedWas: 1, used: 1, reservedWas: 2, reserved: 0 },
            { project: 'q', resource: 'nodes', usedWas: 9, used: 2, reservedWas: 0, reserved: 0 },
          ],
        );
        assert.deepEqual(await counters(), { clusters: [1, 0], nodes: [2, 0] });
        const metrics = await waitFor('quota gauges', async () => {
          const scraped = await paddock.request('GET', '/metrics');
          assert.equal(scraped.status, 200, JSON.stringify(scraped.body));
          const text = scraped.body as string;
          return text.includes('paddock_quota_used{project="q",resource="nodes"} 2') ? text : null;
        });
        assert.match(metrics, /paddock_quota_limit\{project="q",resource="nodes"\} 10/);
        assert.match(metrics, /paddock_quota_reserved\{project="q",resource="clusters"\} 0/);
        assert.match(metrics, /paddock_quota_drift_repairs_total\{project="q",resource="nodes"\} 1/);
      });
  });
