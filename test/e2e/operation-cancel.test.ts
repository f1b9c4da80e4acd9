/**
 * Cancelling operations through `POST /v1/operations/{id}/cancel`, over real HTTP against
 * Postgres, Redis and the simulator: a create cancelled while each of its steps runs ends
 * `cancelled` with nothing left on the simulator and its quota and backend capacity given back;
 * a scale keeps what the backend has; deletes and finished operations are refused; and a cancel
 * racing a create's completion ends one way or the other, never half.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Operation, PaddockClient, Schemas } from '../../cli/api/client';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

/** Each step of a create takes this long at least, so a cancel lands while it runs. */
const STEP_MS = 1_200;

describe('cancelling operations', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;
  let api: PaddockClient;

  before(async () => {
    sim = await startTestSimulator({
      nodeTemplates: [{ name: 'm1.large' }],
      timings: { permissionWindowMs: STEP_MS, clusterProvisionMs: STEP_MS },
    });
    // Rancher calls are slowed below their timeout: the step runs long, and succeeds.
    paddock = await startPaddock({ env: { PADDOCK_RANCHER_TIMEOUT_MS: '5000' } });
    api = paddock.client();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  const create = async (name: string) => {
    const { data, error } = await api.POST('/v1/projects/{project}/clusters', {
      params: { path: { project: 'web' } },
      body: clusterBody(name) as Schemas['CreateClusterDto'],
    });
    assert.ok(data, JSON.stringify(error));
    return data;
  };
  const cancel = (id: string) =>
    api.POST('/v1/operations/{operation}/cancel', { params: { path: { operation: id } } });
  const operation = async (id: string): Promise<Operation> => {
    const { data } = await api.GET('/v1/operations/{operation}', { params: { path: { operation: id } } });
    assert.ok(data);
    return data;
  };
  const quota = async () =>
    (await api.GET('/v1/projects/{project}/quota', { params: { path: { project: 'web' } } })).data!;
  const backend = async () =>
    (await api.GET('/v1/admin/backends/{backend}', { params: { path: { backend: 'sim-a' } } })).data!;
  const remote = async () => ({
    clusters: (await sim.rancher('GET', '/v3/clusters')).body.data.length as number,
    nodePools: (await sim.rancher('GET', '/v3/nodepools')).body.data.length as number,
    nodes: (await sim.rancher('GET', '/v3/nodes')).body.data.length as number,
  });

  /** Nothing of the cancelled create is left: not on the simulator, not in quota or capacity. */
  async function assertNothingLeft(clusterName: string): Promise<void> {
    assert.deepEqual(await remote(), { clusters: 0, nodePools: 0, nodes: 0 });
    const q = await quota();
    assert.deepEqual(
      [q.clusters.used, q.clusters.reserved, q.nodes.used, q.nodes.reserved],
      [0, 0, 0, 0],
      'quota released',
    );
    const b = await backend();
    assert.deepEqual([b.clusters, b.nodes], [0, 0], 'backend capacity released');
    const cluster = await api.GET('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: clusterName } },
    });
    assert.equal(cluster.data?.state, 'failed');
  }

  for (const step of [
    'create-cluster',
    'await-roles',
    'create-node-pool:control',
    'create-node-pool:workers',
    'await-active',
  ]) {
    it(`a create cancelled while ${step} runs ends cancelled, leaving nothing on the backend and its quota released`, async () => {
      await sim.faults.add({ method: 'POST', path: '^/v3/(clusters|nodepools)$', delayMs: STEP_MS });
      try {
        const name = `c-${step.replace(/[^a-z]/g, '')}`.slice(0, 40);
        const accepted = await create(name);
        const id = accepted.operation.id;
        await waitFor(
          `${step} to run`,
          async () => {
            const op = await operation(id);
            assert.ok(
              op.state === 'pending' || op.state === 'running',
              `create ended ${op.state} before ${step} ran`,
            );
            return op.steps.find((s) => s.name === step)?.state === 'running';
          },
          30_000,
        );
        const cancelled = await cancel(id);
        assert.equal(cancelled.response.status, 202);
        assert.ok(cancelled.data?.cancelRequestedAt);
        // Asking twice is the same answer.
        assert.equal((await cancel(id)).response.status, 202);
        const final = await paddock.waitForOperation(id, 60_000);
        assert.equal(final.state, 'cancelled');
        assert.equal(final.error?.code, 'CANCELLED');
        assert.ok(final.steps.some((s: { name: string }) => s.name === 'compensate:delete-cluster'));
        await assertNothingLeft(name);
        // Once cancelled, a cancel is still the same answer.
        assert.equal((await cancel(id)).response.status, 202);
      } finally {
        await sim.faults.clear();
      }
    });
  }

  it('a delete cannot be cancelled (409 NOT_CANCELLABLE), nor a finished operation (409 OPERATION_FINISHED)', async () => {
    const accepted = await create('finished');
    assert.equal((await paddock.waitForOperation(accepted.operation.id)).state, 'succeeded');
    const finished = await cancel(accepted.operation.id);
    assert.equal(finished.response.status, 409);
    assert.equal(finished.error?.code, 'OPERATION_FINISHED');
    const deleting = await api.DELETE('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: 'finished' } },
    });
    assert.ok(deleting.data);
    const refused = await cancel(deleting.data.id);
    assert.equal(refused.response.status, 409);
    assert.equal(refused.error?.code, 'NOT_CANCELLABLE');
    assert.equal((await paddock.waitForOperation(deleting.data.id)).state, 'succeeded');
    const unknown = await cancel('00000000-0000-4000-8000-000000000000');
    assert.equal(unknown.response.status, 404);
    const audit = await paddock.request('GET', '/v1/admin/audit?action=cancelOperation');
    assert.ok(
      audit.body.items.some(
        (e: { status: number; code: string | null }) => e.status === 409 && e.code === 'NOT_CANCELLABLE',
      ),
    );
  });

  it('an added pool cancelled while it is created is removed from the backend, its quota released, the cluster active', async () => {
    const accepted = await create('grown');
    assert.equal((await paddock.waitForOperation(accepted.operation.id)).state, 'succeeded');
    await sim.faults.add({ method: 'POST', path: '^/v3/nodepools$', delayMs: STEP_MS, times: 1 });
    try {
      const added = await api.POST('/v1/projects/{project}/clusters/{cluster}/node-pools', {
        params: { path: { project: 'web', cluster: 'grown' } },
        body: { name: 'extra', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
      });
      assert.ok(added.data, JSON.stringify(added.error));
      const id = added.data.id;
      await waitFor('the pool to be created', async () => (await operation(id)).steps[0].state === 'running');
      assert.equal((await cancel(id)).response.status, 202);
      const final = await paddock.waitForOperation(id, 60_000);
      assert.equal(final.state, 'cancelled');
      assert.equal(final.error?.code, 'CANCELLED');
    } finally {
      await sim.faults.clear();
    }
    assert.equal((await remote()).nodePools, 2, 'only the two pools of the create are left');
    const cluster = (
      await api.GET('/v1/projects/{project}/clusters/{cluster}', {
        params: { path: { project: 'web', cluster: 'grown' } },
      })
    ).data!;
    assert.equal(cluster.state, 'active');
    assert.deepEqual(cluster.nodePools.map((p) => p.name).sort(), ['control', 'workers']);
    const q = await quota();
    assert.deepEqual([q.nodes.used, q.nodes.reserved], [3, 0]);
    const deleted = await api.DELETE('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: 'grown' } },
    });
    assert.equal((await paddock.waitForOperation(deleted.data!.id)).state, 'succeeded');
  });

  it('a scale cancelled after the backend was asked keeps the pool at what the backend reports', async () => {
    const accepted = await create('scaled');
    assert.equal((await paddock.waitForOperation(accepted.operation.id)).state, 'succeeded');
    await sim.faults.add({ method: 'PUT', path: '^/v3/nodepools/', delayMs: STEP_MS, times: 1 });
    try {
      const scale = await api.PATCH('/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}', {
        params: { path: { project: 'web', cluster: 'scaled', pool: 'workers' } },
        body: { quantity: 4 },
      });
      assert.ok(scale.data);
      const id = scale.data.id;
      await waitFor('the scale step to run', async () => (await operation(id)).steps[0].state === 'running');
      assert.equal((await cancel(id)).response.status, 202);
      const final = await paddock.waitForOperation(id, 60_000);
      assert.equal(final.state, 'cancelled');
      const cluster = (
        await api.GET('/v1/projects/{project}/clusters/{cluster}', {
          params: { path: { project: 'web', cluster: 'scaled' } },
        })
      ).data!;
      const pool = cluster.nodePools.find((p) => p.name === 'workers')!;
      const remotePools = (await sim.rancher('GET', '/v3/nodepools')).body.data as Array<{
        hostnamePrefix: string;
        quantity: number;
      }>;
      const remotePool = remotePools.find((p) => p.hostnamePrefix.includes('workers'))!;
      assert.equal(pool.quantity, remotePool.quantity);
      assert.equal(pool.quantity, 4);
      assert.equal(cluster.state, 'active');
      const q = await quota();
      assert.deepEqual([q.nodes.used, q.nodes.reserved], [5, 0]);
    } finally {
      await sim.faults.clear();
    }
    const deleted = await api.DELETE('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: 'scaled' } },
    });
    assert.equal((await paddock.waitForOperation(deleted.data!.id)).state, 'succeeded');
  });

  it('a cancel racing the end of a create either wins (cancelled, nothing left) or is refused (succeeded)', async () => {
    const outcomes: string[] = [];
    // Cancels sent at points spread over a create's life, its last moments included.
    for (const [i, delayMs] of [0, 2_000, 4_000, 5_000, 6_000, 8_000].entries()) {
      const name = `race-${i}`;
      const accepted = await create(name);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const answer = await cancel(accepted.operation.id);
      const final = await paddock.waitForOperation(accepted.operation.id, 60_000);
      if (answer.response.status === 202) {
        assert.equal(final.state, 'cancelled', `${name}: an accepted cancel ends cancelled`);
        assert.deepEqual(await remote(), { clusters: 0, nodePools: 0, nodes: 0 });
      } else {
        assert.equal(answer.response.status, 409);
        assert.equal(answer.error?.code, 'OPERATION_FINISHED');
        assert.equal(final.state, 'succeeded', `${name}: a refused cancel leaves the create as it ended`);
        const deleted = await api.DELETE('/v1/projects/{project}/clusters/{cluster}', {
          params: { path: { project: 'web', cluster: name } },
        });
        assert.equal((await paddock.waitForOperation(deleted.data!.id, 60_000)).state, 'succeeded');
      }
      outcomes.push(final.state);
      const q = await quota();
      assert.deepEqual([q.clusters.used, q.clusters.reserved, q.nodes.reserved], [0, 0, 0]);
    }
    assert.ok(outcomes.includes('cancelled'), `outcomes: ${outcomes.join(', ')}`);
  });

  it('the duration histogram counts every finished operation, cancelled ones included', async () => {
    const { rows } = await paddock.db.query<{ outcome: string; operations: number; observed: number }>(
      `SELECT o.state AS outcome, count(*)::int AS operations,
              (SELECT coalesce(sum(observations), 0)::int FROM operation_durations d WHERE d.outcome = o.state) AS observed
         FROM operations o WHERE o.state IN ('succeeded', 'failed', 'cancelled') GROUP BY o.state ORDER BY o.state`,
    );
    assert.ok(rows.some((r) => r.outcome === 'cancelled'), JSON.stringify(rows));
    for (const row of rows) assert.equal(row.observed, row.operations, `${row.outcome}: ${JSON.stringify(rows)}`);
  });
});
