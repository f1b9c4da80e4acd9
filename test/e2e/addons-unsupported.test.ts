/**
 * A backend whose Fleet cannot deliver addons (a simulated Rancher 2.10: no HelmOps, and its Bundle
 * CRD prunes `helmOpOptions`): an opt-in there is refused with 409 ADDONS_UNSUPPORTED_ON_BACKEND and
 * writes nothing, and the rollout shows the backend as `unsupported` rather than pending forever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('addons on a backend without a usable Fleet (Rancher 2.10)', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;

  before(async () => {
    sim = await startTestSimulator({ version: 'v2.10.5', nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('old', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'old' })).status, 201);
    const created = await paddock.request('POST', '/v1/projects/old/clusters', clusterBody('c1'));
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('refuses an opt-in with 409 ADDONS_UNSUPPORTED_ON_BACKEND and reports the backend unsupported', async () => {
    const created = await paddock.request('POST', '/v1/admin/addons', {
      name: 'svc',
      chart: { repo: `${sim.url}/charts`, name: 'service-operator', version: '1.0.0' },
      namespace: 'svc',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const put = await paddock.request('PUT', '/v1/projects/old/clusters/c1/addons/svc', {});
    assert.equal(put.status, 409, JSON.stringify(put.body));
    assert.equal(put.body.code, 'ADDONS_UNSUPPORTED_ON_BACKEND');
    assert.equal((await paddock.db.query(`SELECT 1 FROM cluster_addons`)).rowCount, 0);
    assert.equal(
      (await paddock.db.query(`SELECT 1 FROM operations WHERE type = 'install-addon'`)).rowCount,
      0,
    );
    const rollout = await waitFor('the backend reported unsupported', async () => {
      const r = (await paddock.request('GET', '/v1/admin/addons/svc/rollout')).body;
      return r.perBackend?.[0]?.state === 'unsupported' ? r : undefined;
    });
    assert.equal(rollout.perBackend[0].backend, 'old');
    // Nothing was written to the backend's Fleet.
    const writes = (await sim.calls()).filter(
      (c) => c.method !== 'GET' && c.path.includes('fleet.cattle.io'),
    );
    assert.deepEqual(writes, []);
  });
});
