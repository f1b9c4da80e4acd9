import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('create → active → delete through the API', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('provisions a cluster and removes it', async () => {
    const created = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('smoke'));
    assert.equal(created.status, 202);
    assert.equal(created.headers.get('location'), `/v1/operations/${created.body.operation.id}`);
    const op = await paddock.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded');
    const cluster = await paddock.request('GET', '/v1/projects/web/clusters/smoke');
    assert.equal(cluster.body.state, 'active');
    assert.equal(cluster.body.nodeCount, 3);
    const deleted = await paddock.request('DELETE', '/v1/projects/web/clusters/smoke');
    assert.equal(deleted.status, 202);
    assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    const remote = await sim.rancher('GET', '/v3/clusters');
    assert.equal(remote.body.data.length, 0);
  });
});
