/**
 * SIGKILL of a worker at each named point of a create — right after the 202, after
 * create-cluster, during await-roles, after the first pool, during await-active — and during a
 * delete, on an rke1 backend; and on an rke2 backend (a simulated Rancher 2.12) after the first
 * machine config, after create-cluster, during await-active and during a delete. Each point has its own backend and three operations, and kills the oldest worker once
 * its first operation reaches the point. The random kills of crash.test.ts land anywhere; these
 * land where recovery is hardest, every run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import {
  addBackend,
  CaseBackend,
  closeCheckingInvariants,
  count,
  createOn,
  workerPool,
} from '../support/reliability';

const PROJECT = 'steps';
const CREATES_PER_POINT = 3;

describe('reliability: worker SIGKILL at each step', () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  let killOldestWorker: () => Promise<void>;

  before(async () => {
    paddock = await startPaddock({
      workers: 'child',
      // An upper bound only: six points' operations share the workers and their restarts, and
      // must not race the machine's speed to a deadline this file does not test.
      env: { PADDOCK_OPERATION_DEADLINE_MS: '300000' },
    });
    killOldestWorker = workerPool(paddock).killOldest;
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(() => closeCheckingInvariants(paddock, backends));

  const stepState = async (operationId: string, name: string) =>
    (
      await paddock.db.query(`SELECT state FROM operation_steps WHERE operation_id = $1 AND name = $2`, [
        operationId,
        name,
      ])
    ).rows[0]?.state;

  async function succeeded(ids: string[], what: string) {
    for (const id of ids) {
      const op = await paddock.waitForOperation(id, 120_000);
      assert.equal(op.state, 'succeeded', `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    }
  }

  async function backend(name: string, timings: Record<string, number>, version?: string) {
    const b = await addBackend(paddock, name, { timings, ...(version ? { version } : {}) });
    backends.push(b);
    return b;
  }

  /** Creates on a backend of its own, kills once `reached` holds for the first, checks the outcome. */
  async function killedCreates(
    tag: string,
    reached: (operationId: string) => Promise<boolean>,
    version?: string,
  ) {
    // Slower than the fast timings, so each kill point is a window rather than an instant.
    const b = await backend(`k-${tag}`, { permissionWindowMs: 600, nodeProvisionMs: 1_200 }, version);
    const ops: string[] = [];
    for (let i = 0; i < CREATES_PER_POINT; i++)
      ops.push((await createOn(paddock, PROJECT, b, `k-${tag}-${i}`)).operation.id);
    await waitFor(`kill point ${tag}`, () => reached(ops[0]), 60_000);
    await killOldestWorker();
    await succeeded(ops, tag);
    const calls = await b.sim.calls();
    const [clusterPost, poolPost] =
      b.kind === 'rke2'
        ? [
            /^\/v1\/provisioning\.cattle\.io\.clusters$/,
            /^\/v1\/rke-machine-config\.cattle\.io\.openstackconfigs$/,
          ]
        : [/^\/v3\/clusters$/, /^\/v3\/nodepools$/];
    assert.equal(count(calls, 'POST', clusterPost, 201), CREATES_PER_POINT, `${tag}: one create per cluster`);
    assert.equal(
      count(calls, 'POST', poolPost, 201),
      CREATES_PER_POINT * 2,
      `${tag}: one create per pool (rke2: machine config)`,
    );
    await assertNoOrphans(paddock, [b.sim]);
  }

  async function killedDeletes(version?: string) {
    const b = await backend(version ? 'k-del-rke2' : 'k-del', { clusterDeleteMs: 1_500 }, version);
    const created = [];
    for (let i = 0; i < 2; i++) created.push(await createOn(paddock, PROJECT, b, `${b.name}-${i}`));
    await succeeded(
      created.map((c) => c.operation.id),
      'create before the delete',
    );
    const deletes: string[] = [];
    for (const c of created) {
      const response = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/${c.cluster.name}`);
      assert.equal(response.status, 202);
      deletes.push(response.body.id);
    }
    await waitFor('delete under way', () => reachedOrPast('await-cluster-deleted')(deletes[0]), 60_000);
    await killOldestWorker();
    await succeeded(deletes, 'delete');
    const clusters = b.kind === 'rke2' ? '/v1/provisioning.cattle.io.clusters' : '/v3/clusters';
    assert.equal((await b.sim.rancher('GET', clusters)).body.data.length, 0);
    await assertNoOrphans(paddock, [b.sim]);
  }

  // A point counts as reached once its step is running or past it: on a slow machine the sync can
  // finish a step between two looks, and waiting for a state already left would hang the trial.
  const reachedOrPast = (step: string) => async (id: string) =>
    ['running', 'succeeded'].includes((await stepState(id, step)) ?? '');

  it('killed right after the 202', () => killedCreates('t0', async () => true));
  it('killed after create-cluster', () =>
    killedCreates('t1', async (id) => (await stepState(id, 'create-cluster')) === 'succeeded'));
  it('killed during await-roles', () => killedCreates('t2', reachedOrPast('await-roles')));
  it('killed after the first node pool', () =>
    killedCreates('t3', async (id) => (await stepState(id, 'create-node-pool:control')) === 'succeeded'));
  it('killed during await-active', () => killedCreates('t4', reachedOrPast('await-active')));
  it('killed during a delete, while the backend removes the cluster', () => killedDeletes());

  const RKE2 = 'v2.12.3';
  it('rke2: killed after the first machine config', () =>
    killedCreates(
      'r1',
      async (id) => (await stepState(id, 'create-machine-config:control')) === 'succeeded',
      RKE2,
    ));
  it('rke2: killed after create-cluster', () =>
    killedCreates('r2', async (id) => (await stepState(id, 'create-cluster')) === 'succeeded', RKE2));
  it('rke2: killed during await-active', () => killedCreates('r3', reachedOrPast('await-active'), RKE2));
  it('rke2: killed during a delete, while the backend removes the cluster', () => killedDeletes(RKE2));
});
