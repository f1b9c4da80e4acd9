/**
 * The health a Rancher server reports, over HTTP: a registered node carries the kubelet's
 * conditions beside Rancher's lifecycle ones (§4.3), a cluster's `componentStatuses` (§3.2) is
 * empty until a control-plane component reports, and tests set both through the control API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';

describe('simulator: node conditions and component statuses', () => {
  let sim: TestSimulator;
  let clusterId: string;
  let nodeId: string;

  before(async () => {
    sim = await startTestSimulator();
    const seeded = await sim.seed({ clusters: 1, poolsPerCluster: 1, nodesPerPool: 1 });
    clusterId = seeded.clusterIds[0];
    nodeId = (await sim.rancher('GET', `/v3/nodes?clusterId=${clusterId}`)).body.data[0].id;
  });

  after(() => sim.close());

  const node = async () => (await sim.rancher('GET', `/v3/nodes/${nodeId}`)).body;
  const status = (object: { conditions: Array<{ type: string; status: string }> }) =>
    Object.fromEntries(object.conditions.map((c) => [c.type, c.status]));

  it('a registered node lists the kubelet conditions with Rancher’s lifecycle ones', async () => {
    const n = await node();
    assert.deepEqual(status(n), {
      Initialized: 'True',
      Provisioned: 'True',
      Saved: 'True',
      Registered: 'True',
      NetworkUnavailable: 'False',
      MemoryPressure: 'False',
      DiskPressure: 'False',
      PIDPressure: 'False',
      Ready: 'True',
    });
    assert.equal(
      n.conditions.find((c: { type: string }) => c.type === 'MemoryPressure').reason,
      'KubeletHasSufficientMemory',
    );
    assert.equal(n.state, 'active');
  });

  it('pressure set True leaves the node active; Ready False makes it unavailable; the Kubernetes Node agrees', async () => {
    await sim.setCondition({
      type: 'node',
      id: nodeId,
      condition: { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure' },
    });
    assert.equal((await node()).state, 'active');
    await sim.setCondition({
      type: 'node',
      id: nodeId,
      condition: { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
    });
    const n = await node();
    assert.equal(n.state, 'unavailable');
    assert.equal(status(n).DiskPressure, 'True');
    await sim.setCondition({
      type: 'node',
      id: nodeId,
      condition: { type: 'Ready', status: 'True', reason: 'KubeletReady' },
    });
    assert.equal((await node()).state, 'active');
  });

  it('componentStatuses: empty by default, then one entry per reported component, sorted, in Kubernetes’ shape', async () => {
    assert.deepEqual((await sim.rancher('GET', `/v3/clusters/${clusterId}`)).body.componentStatuses, []);
    await sim.setComponentStatus({
      clusterId,
      name: 'scheduler',
      status: 'False',
      error: 'connection refused',
    });
    await sim.setComponentStatus({ clusterId, name: 'etcd-0', status: 'True', message: '{"health":"true"}' });
    await sim.setComponentStatus({ clusterId, name: 'scheduler', status: 'True', message: 'ok' });
    assert.deepEqual((await sim.rancher('GET', `/v3/clusters/${clusterId}`)).body.componentStatuses, [
      { name: 'etcd-0', conditions: [{ type: 'Healthy', status: 'True', message: '{"health":"true"}' }] },
      { name: 'scheduler', conditions: [{ type: 'Healthy', status: 'True', message: 'ok' }] },
    ]);
  });

  it('the control API refuses a malformed component report with 400 and an unknown cluster with 404', async () => {
    const post = (body: unknown) =>
      fetch(`${sim.url}/__sim/component-statuses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sim.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    assert.equal((await post({ clusterId, name: 'Bad Name', status: 'True' })).status, 400);
    assert.equal((await post({ clusterId, name: 'etcd-0', status: 'maybe' })).status, 400);
    assert.equal((await post({ clusterId: 'c-nope0', name: 'etcd-0', status: 'True' })).status, 404);
  });
});
