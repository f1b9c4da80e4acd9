/**
 * SIGKILL of the worker process mid-operation: the sweeper and the lease hand every unfinished
 * operation to the next worker, which resumes from the last persisted step. Several creates run
 * at once; the kill lands at a different point in each trial.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingInvariants, count, createOn } from '../support/reliability';

const PROJECT = 'crash';
const CREATES_PER_TRIAL = 3;

describe('reliability: worker SIGKILL mid-operation', () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];

  before(async () => {
    paddock = await startPaddock({ workers: 'child' });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(() => closeCheckingInvariants(paddock, backends));

  const liveWorker = (): ChildProcess => {
    const child = paddock.children.find((c) => c.exitCode === null && c.signalCode === null);
    assert.ok(child, 'a worker child is running');
    return child;
  };

  async function killWorker(): Promise<void> {
    const child = liveWorker();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  const stepState = async (operationId: string, name: string) =>
    (
      await paddock.db.query(`SELECT state FROM operation_steps WHERE operation_id = $1 AND name = $2`, [
        operationId,
        name,
      ])
    ).rows[0]?.state;

  /**
   * Starts CREATES_PER_TRIAL creates on a fresh backend, kills the worker once `killWhen` holds for
   * the first operation, starts a new worker and asserts that everything finishes cleanly.
   */
  async function trial(tag: string, killWhen: (operationId: string) => Promise<boolean>) {
    // Slower than the default fast timings, so each kill point is a window rather than an instant.
    const b = await addBackend(paddock, `k-${tag}`, {
      timings: { permissionWindowMs: 600, nodeProvisionMs: 1_200 },
    });
    backends.push(b);
    const ops: string[] = [];
    for (let i = 0; i < CREATES_PER_TRIAL; i++)
      ops.push((await createOn(paddock, PROJECT, b, `k-${tag}-${i}`)).operation.id);
    await waitFor(`kill point ${tag}`, () => killWhen(ops[0]), 20_000);
    const killedAt = Date.now();
    await killWorker();
    paddock.spawnWorker();
    for (const id of ops) {
      const op = await paddock.waitForOperation(id, 40_000);
      assert.equal(op.state, 'succeeded', `${tag}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    }
    console.log(
      `[reliability-crash] ${tag}: all ${ops.length} operations succeeded ${Date.now() - killedAt} ms after the SIGKILL`,
    );
    const calls = await b.sim.calls();
    assert.equal(
      count(calls, 'POST', /^\/v3\/clusters$/, 201),
      CREATES_PER_TRIAL,
      'one cluster create per Paddock cluster',
    );
    assert.equal(
      count(calls, 'POST', /^\/v3\/nodepools$/, 201),
      CREATES_PER_TRIAL * 2,
      'one pool create per Paddock pool',
    );
    await assertNoOrphans(paddock, [b.sim]);
    return { b, ops };
  }

  it('killed right after the 202 (before the relay dispatched or the first step ran)', async () => {
    await trial('t0', async () => true);
  });

  it('killed after create-cluster succeeded', async () => {
    await trial('t1', async (id) => (await stepState(id, 'create-cluster')) === 'succeeded');
  });

  it('killed during await-roles', async () => {
    await trial('t2', async (id) => (await stepState(id, 'await-roles')) === 'running');
  });

  it('killed after the first node pool was created', async () => {
    await trial('t3', async (id) => (await stepState(id, 'create-node-pool:control')) === 'succeeded');
  });

  it('killed during await-active', async () => {
    await trial('t4', async (id) => (await stepState(id, 'await-active')) === 'running');
  });

  it('killed during a delete, while the backend removes the cluster', async () => {
    const b = await addBackend(paddock, 'k-del', { timings: { clusterDeleteMs: 1_500 } });
    backends.push(b);
    const created = [];
    for (let i = 0; i < 2; i++) created.push(await createOn(paddock, PROJECT, b, `k-del-${i}`));
    for (const c of created)
      assert.equal((await paddock.waitForOperation(c.operation.id)).state, 'succeeded');
    const deletes: string[] = [];
    for (const c of created) {
      const response = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/${c.cluster.name}`);
      assert.equal(response.status, 202);
      deletes.push(response.body.id);
    }
    await waitFor(
      'delete under way',
      async () => (await stepState(deletes[0], 'await-cluster-deleted')) === 'running',
      20_000,
    );
    await killWorker();
    paddock.spawnWorker();
    for (const id of deletes) assert.equal((await paddock.waitForOperation(id, 40_000)).state, 'succeeded');
    assert.equal((await b.sim.rancher('GET', '/v3/clusters')).body.data.length, 0);
    await assertNoOrphans(paddock, [b.sim]);
  });
});
