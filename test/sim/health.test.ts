/**
 * The health a Rancher server reports, over HTTP: a registered node carries the kubelet's Ready
 * beside Rancher's lifecycle ones (§4.3) while the cluster's Kubernetes Node shows all the
 * kubelet's conditions, a cluster's `componentStatuses` (§3.2) is
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

  const kubeNode = async (nodeName: string) =>
    (await sim.rancher('GET', `/k8s/clusters/${clusterId}/api/v1/nodes/${nodeName}`)).body;

  it('a registered node lists only the kubelet’s Ready with Rancher’s lifecycle ones; its Kubernetes Node has them all', async () => {
    const n = await node();
    assert.deepEqual(status(n), {
      Initialized: 'True',
      Provisioned: 'True',
      Saved: 'True',
      Registered: 'True',
      Ready: 'True',
    });
    assert.equal(n.conditions.find((c: { type: string }) => c.type === 'Ready').reason, 'KubeletReady');
    assert.equal(n.state, 'active');
    const k = await kubeNode(n.nodeName);
    assert.deepEqual(status(k.status), {
      NetworkUnavailable: 'False',
      MemoryPressure: 'False',
      DiskPressure: 'False',
      PIDPressure: 'False',
      Ready: 'True',
    });
    assert.equal(
      k.status.conditions.find((c: { type: string }) => c.type === 'MemoryPressure').reason,
      'KubeletHasSufficientMemory',
    );
  });

  it('pressure shows on the Kubernetes Node only, the node stays active; Ready False makes it unavailable on both', async () => {
    const before = await node();
    await sim.setCondition({
      type: 'node',
      id: nodeId,
      condition: { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure' },
    });
    const pressed = await node();
    assert.equal(pressed.state, 'active');
    assert.deepEqual(pressed.conditions, before.conditions);
    assert.equal(status((await kubeNode(before.nodeName)).status).DiskPressure, 'True');
    await sim.setCondition({
      type: 'node',
      id: nodeId,
      condition: { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
    });
    const n = await node();
    assert.equal(n.state, 'unavailable');
    assert.equal(status(n).Ready, 'False');
    assert.equal(status(n).DiskPressure, undefined);
    const k = status((await kubeNode(n.nodeName)).status);
    assert.equal(k.Ready, 'False');
    assert.equal(k.DiskPressure, 'True');
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
