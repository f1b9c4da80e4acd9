/**
 * Drift made through the simulator's own Rancher API, as an operator would: a managed cluster
 * deleted, a pool scaled behind Paddock's back, an object labelled as ours with no record, and a
 * backend that cannot be listed. Also: users' reads never call Rancher.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingInvariants, createOn, sleep } from '../support/reliability';

const PROJECT = 'drift';

describe('status sync: drift and unreachable backends', { concurrency: true }, () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  const drifted: string[] = [];

  before(async () => {
    paddock = await startPaddock();
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(() => closeCheckingInvariants(paddock, backends, { skipClusterIds: drifted }));

  /** A backend with one active cluster on it. */
  async function activeCluster(name: string) {
    const b = await addBackend(paddock, name);
    backends.push(b);
    const { cluster, operation } = await createOn(paddock, PROJECT, b, name);
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    const row = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [cluster.id]);
    return { b, id: cluster.id, rancherId: row.rows[0].rancher_id as string };
  }

  const getCluster = async (name: string) => {
    const response = await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`);
    assert.equal(response.status, 200);
    return response.body;
  };
  const condition = (cluster: any, type: string) => cluster.conditions.find((c: any) => c.type === type);
  const metric = async (backend: string, kind: string) => {
    const text = (await paddock.request('GET', '/metrics')).body as string;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`paddock_drift_objects{backend="${backend}",kind="${kind}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  const syncReport = async (backend: string) =>
    (await paddock.request('GET', `/v1/admin/backends/${backend}`)).body.syncReport;

  it('a managed cluster deleted on the backend → InSync=False MissingOnBackend, state error, report, metric', async () => {
    const { b, id, rancherId } = await activeCluster('d-missing');
    drifted.push(id);
    assert.equal((await b.sim.rancher('DELETE', `/v3/clusters/${rancherId}`)).status, 200);
    const cluster = await waitFor('MissingOnBackend', async () => {
      const c = await getCluster('d-missing');
      return condition(c, 'InSync')?.reason === 'MissingOnBackend' && c.state === 'error' ? c : undefined;
    });
    assert.equal(condition(cluster, 'InSync').status, 'False');
    // The condition is written mid-cycle, the backend's report when the cycle ends.
    await waitFor(
      'the report names the missing cluster',
      async () => JSON.stringify((await syncReport('d-missing')).missingClusters) === JSON.stringify([id]),
    );
    await waitFor(
      'the missing-cluster gauge',
      async () => (await metric('d-missing', 'missing-cluster')) === 1,
    );
  });

  it('a pool scaled behind Paddock’s back → InSync=False NodePoolDrift, observedQuantity', async () => {
    const { b, id } = await activeCluster('d-scaled');
    drifted.push(id);
    const pool = (
      await paddock.db.query(
        `SELECT id, rancher_id FROM node_pools WHERE cluster_id = $1 AND name = 'workers'`,
        [id],
      )
    ).rows[0];
    assert.equal(
      (await b.sim.rancher('PUT', `/v3/nodepools/${pool.rancher_id}`, { quantity: 4 })).status,
      200,
    );
    const cluster = await waitFor('NodePoolDrift', async () => {
      const c = await getCluster('d-scaled');
      return condition(c, 'InSync')?.reason === 'NodePoolDrift' ? c : undefined;
    });
    assert.equal(condition(cluster, 'InSync').status, 'False');
    const workers = cluster.nodePools.find((p: any) => p.name === 'workers');
    assert.equal(workers.quantity, 2);
    assert.equal(workers.observedQuantity, 4);
    await waitFor(
      'the report names the scaled pool',
      async () => JSON.stringify((await syncReport('d-scaled')).scaledPools) === JSON.stringify([pool.id]),
    );
    await waitFor('the scaled-pool gauge', async () => (await metric('d-scaled', 'scaled-pool')) === 1);
  });

  it('a cluster labelled as ours with no record → unknownClusters and the unknown-cluster metric', async () => {
    const b = await addBackend(paddock, 'd-unknown');
    backends.push(b);
    const stranger = randomUUID();
    drifted.push(stranger);
    const created = await b.sim.rancher('POST', '/v3/clusters', {
      name: 'not-from-paddock',
      labels: { 'paddock.dev/managed': 'true', 'paddock.dev/cluster-id': stranger },
    });
    assert.equal(created.status, 201);
    await waitFor('unknown cluster reported', async () =>
      ((await syncReport('d-unknown')).unknownClusters ?? []).includes(created.body.id),
    );
    assert.equal(await metric('d-unknown', 'unknown-cluster'), 1);
  });

  it('an unreachable backend: reads still served, BackendReachable=False, status frozen; then recovers', async () => {
    const { b } = await activeCluster('d-down');
    await b.sim.faults.add({ path: '^/v3/', status: 503 });
    const stale = await waitFor('BackendReachable=False', async () => {
      const c = await getCluster('d-down');
      return condition(c, 'BackendReachable')?.status === 'False' ? c : undefined;
    });
    const frozenAt = stale.statusUpdatedAt;
    await sleep(1_500); // five sync periods
    const still = await getCluster('d-down');
    assert.equal(still.statusUpdatedAt, frozenAt, 'statusUpdatedAt stops advancing');
    assert.equal(still.state, 'active', 'the last known state is kept');
    assert.equal((await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/d-down/nodes`)).status, 200);
    await b.sim.faults.clear();
    // The client's circuit breaker may be open: it lets a trial call through after 10 s.
    const back = await waitFor(
      'BackendReachable=True',
      async () => {
        const c = await getCluster('d-down');
        return condition(c, 'BackendReachable')?.status === 'True' ? c : undefined;
      },
      20_000,
    );
    assert.ok(back.statusUpdatedAt > frozenAt, 'statusUpdatedAt advances again');
  });

  it('users’ reads never call Rancher', async () => {
    const { b, id } = await activeCluster('d-reads');
    const { rows } = await paddock.db.query(`SELECT id FROM operations WHERE cluster_id = $1`, [id]);
    await b.sim.clearCalls();
    for (let i = 0; i < 5; i++) {
      for (const path of [
        `/v1/projects/${PROJECT}/clusters/d-reads`,
        `/v1/projects/${PROJECT}/clusters`,
        `/v1/projects/${PROJECT}/clusters/d-reads/nodes`,
        `/v1/operations/${rows[0].id}`,
      ]) {
        assert.equal((await paddock.request('GET', path)).status, 200, path);
      }
    }
    // Only the status sync's paged lists and the health probe may appear (both run on their own
    // periods, however long the reads take); a read would show up as a per-object call.
    const background = [
      '/v3/clusters',
      '/v3/nodepools',
      '/v3/nodes',
      '/v3/etcdbackups',
      '/ping',
      '/v3/settings/server-version',
      '/v3/settings/k8s-versions-current',
    ];
    const calls = await b.sim.calls();
    const other = calls.filter((c) => !(c.method === 'GET' && background.includes(c.path)));
    assert.deepEqual(other, [], 'no call other than the sync’s lists and the probe');
  });
});
