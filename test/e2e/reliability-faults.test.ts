/**
 * A fault at each step of create and delete, of each kind: a 5xx (retried), a timeout (retried,
 * no duplicate), drop-after-apply (the object exists, the answer is lost: found by look-up), a
 * permanent refusal (compensated) and the deadline (compensated). Each case has its own
 * simulator, pinned by region, so cases run side by side against one Paddock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FaultSpec } from '../support/simulator';
import { assertNoOrphans } from '../support/invariants';
import { startPaddock, TestPaddock } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingInvariants, count, createOn } from '../support/reliability';

const PROJECT = 'rel';
// Short enough for the deadline case to finish quickly, long enough for every retried case.
const DEADLINE_MS = 10_000;

describe('reliability: faults at every step', { concurrency: true }, () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];

  before(async () => {
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: String(DEADLINE_MS) } });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  // Every case is done: the whole Paddock holds the invariants across every backend.
  after(() => closeCheckingInvariants(paddock, backends));

  async function backend(name: string, options = {}) {
    const b = await addBackend(paddock, name, options);
    backends.push(b);
    return b;
  }

  /** Creates a cluster with `fault` armed; asserts it succeeded with one cluster and one pool per pool. */
  async function createThrough(name: string, fault: FaultSpec) {
    const b = await backend(name);
    await b.sim.faults.add(fault);
    const { operation } = await createOn(paddock, PROJECT, b, name);
    const op = await paddock.waitForOperation(operation.id, 25_000);
    assert.equal(op.state, 'succeeded', `${name}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    assert.deepEqual(await b.sim.faults.list(), [], 'the fault was used up');
    const calls = await b.sim.calls();
    await assertNoOrphans(paddock, [b.sim]);
    const cluster = await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`);
    assert.equal(cluster.body.state, 'active');
    return { b, op, calls };
  }

  /** Creates a cluster cleanly, then deletes it with `fault` armed. */
  async function deleteThrough(name: string, fault: FaultSpec) {
    const b = await backend(name);
    const { operation } = await createOn(paddock, PROJECT, b, name);
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    await b.sim.faults.add(fault);
    await b.sim.clearCalls();
    const deleted = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/${name}`);
    assert.equal(deleted.status, 202);
    const op = await paddock.waitForOperation(deleted.body.id, 25_000);
    assert.equal(op.state, 'succeeded', JSON.stringify(op.steps));
    assert.deepEqual(await b.sim.faults.list(), [], 'the fault was used up');
    const calls = await b.sim.calls();
    assert.equal(
      (await b.sim.rancher('GET', '/v3/clusters')).body.data.length,
      0,
      'the Rancher cluster is gone',
    );
    await assertNoOrphans(paddock, [b.sim]);
    return { b, op, calls };
  }

  // POST /v3/clusters
  it('create-cluster: 5xx twice → retried, one cluster', async () => {
    const { calls } = await createThrough('f-cc-5xx', {
      method: 'POST',
      path: '^/v3/clusters$',
      status: 500,
      times: 2,
    });
    assert.equal(count(calls, 'POST', /^\/v3\/clusters$/, 500), 2);
    assert.equal(count(calls, 'POST', /^\/v3\/clusters$/, 201), 1);
  });

  it('create-cluster: timeout once → retried, no duplicate', async () => {
    await createThrough('f-cc-timeout', { method: 'POST', path: '^/v3/clusters$', delayMs: 1_500, times: 1 });
  });

  it('create-cluster: timeout whose request lands after the retry → NotUnique resolved by look-up', async () => {
    await createThrough('f-cc-late', { method: 'POST', path: '^/v3/clusters$', delayMs: 2_500, times: 1 });
  });

  it('create-cluster: answer dropped after apply → found by look-up, not created twice', async () => {
    const { calls } = await createThrough('f-cc-drop', {
      method: 'POST',
      path: '^/v3/clusters$',
      dropResponse: true,
      times: 1,
    });
    assert.equal(count(calls, 'POST', /^\/v3\/clusters$/), 1, 'exactly one POST /v3/clusters');
  });

  // GET /v3/clusters (look-ups and await-roles polls)
  it('cluster reads: 5xx twice → retried', async () => {
    await createThrough('f-get-5xx', { method: 'GET', path: '^/v3/clusters', status: 503, times: 2 });
  });

  it('cluster reads: timeout once → retried', async () => {
    await createThrough('f-get-timeout', { method: 'GET', path: '^/v3/clusters', delayMs: 1_500, times: 1 });
  });

  // POST /v3/nodepools
  it('create-node-pool: 5xx twice → retried, one pool per pool', async () => {
    const { calls } = await createThrough('f-np-5xx', {
      method: 'POST',
      path: '^/v3/nodepools$',
      status: 500,
      times: 2,
    });
    assert.equal(count(calls, 'POST', /^\/v3\/nodepools$/, 201), 2);
  });

  it('create-node-pool: timeout once → retried, no duplicate', async () => {
    // The late request lands (1.1 s) before the retry's look-up (timeout 1 s + backoff >= 250 ms).
    await createThrough('f-np-timeout', {
      method: 'POST',
      path: '^/v3/nodepools$',
      delayMs: 1_100,
      times: 1,
    });
  });

  // Rancher pool names are not unique, so a timed-out create that lands after the retry's look-up
  // leaves a second pool with the same label; await-active's last look removes the stray copy.
  it('create-node-pool: timeout whose request lands after the retry → duplicate removed', async () => {
    const name = 'f-np-late';
    const b = await backend(name);
    await b.sim.faults.add({ method: 'POST', path: '^/v3/nodepools$', delayMs: 2_500, times: 1 });
    const { operation } = await createOn(paddock, PROJECT, b, name);
    assert.equal((await paddock.waitForOperation(operation.id, 25_000)).state, 'succeeded');
    const posts = count(await b.sim.calls(), 'POST', /^\/v3\/nodepools$/, 201);
    assert.equal(posts, 3, 'the late request and its retry both created a pool');
    await assertNoOrphans(paddock, [b.sim], { timeoutMs: 10_000 });
  });

  it('create-node-pool: answer dropped after apply → found by look-up, not created twice', async () => {
    const { calls } = await createThrough('f-np-drop', {
      method: 'POST',
      path: '^/v3/nodepools$',
      dropResponse: true,
      times: 1,
    });
    assert.equal(
      count(calls, 'POST', /^\/v3\/nodepools$/, 201),
      2,
      'one successful POST per pool (one of them dropped)',
    );
  });

  it('create-node-pool: permanent 422 → compensated, BACKEND_REJECTED, no orphan', async () => {
    const name = 'f-np-422';
    const b = await backend(name);
    await b.sim.faults.add({ method: 'POST', path: '^/v3/nodepools$', status: 422 });
    const { operation, cluster } = await createOn(paddock, PROJECT, b, name);
    const op = await paddock.waitForOperation(operation.id, 25_000);
    assert.equal(op.state, 'failed');
    assert.equal(op.error.code, 'BACKEND_REJECTED');
    const calls = await b.sim.calls();
    assert.equal(count(calls, 'POST', /^\/v3\/clusters$/, 201), 1);
    assert.equal(count(calls, 'POST', /^\/v3\/nodepools$/, 422), 1, 'a permanent refusal is not retried');
    assert.ok(
      count(calls, 'DELETE', /^\/v3\/clusters\//) >= 1,
      'the compensation deleted the Rancher cluster',
    );
    const row = await paddock.db.query(`SELECT state FROM clusters WHERE id = $1`, [cluster.id]);
    assert.equal(row.rows[0].state, 'failed');
    assert.equal(
      (await b.sim.rancher('GET', '/v3/clusters')).body.data.length,
      0,
      'no orphan on the backend',
    );
    await assertNoOrphans(paddock, [b.sim]);
  });

  // DELETE /v3/clusters/<id>
  it('delete-cluster: 5xx twice → retried until gone', async () => {
    const { calls } = await deleteThrough('f-del-5xx', {
      method: 'DELETE',
      path: '^/v3/clusters/',
      status: 500,
      times: 2,
    });
    assert.equal(count(calls, 'DELETE', /^\/v3\/clusters\//, 500), 2);
  });

  it('delete-cluster: timeout once → retried until gone', async () => {
    await deleteThrough('f-del-timeout', {
      method: 'DELETE',
      path: '^/v3/clusters/',
      delayMs: 1_500,
      times: 1,
    });
  });

  it('delete-cluster: answer dropped after apply → done', async () => {
    await deleteThrough('f-del-drop', {
      method: 'DELETE',
      path: '^/v3/clusters/',
      dropResponse: true,
      times: 1,
    });
  });

  it('deadline: nodes that never become active → DEADLINE_EXCEEDED, compensated', async () => {
    const name = 'f-deadline';
    const b = await backend(name, { timings: { nodeProvisionMs: 600_000 } });
    const { operation, cluster } = await createOn(paddock, PROJECT, b, name);
    const op = await paddock.waitForOperation(operation.id, DEADLINE_MS + 15_000);
    assert.equal(op.state, 'failed');
    assert.equal(op.error.code, 'DEADLINE_EXCEEDED');
    assert.equal(op.steps.find((s: any) => s.name === 'await-active').state, 'failed');
    const row = await paddock.db.query(`SELECT state FROM clusters WHERE id = $1`, [cluster.id]);
    assert.equal(row.rows[0].state, 'failed');
    await assertNoOrphans(paddock, [b.sim]);
    assert.equal((await b.sim.rancher('GET', '/v3/clusters')).body.data.length, 0);
    assert.equal((await b.sim.rancher('GET', '/v3/nodepools')).body.data.length, 0);
  });
});
