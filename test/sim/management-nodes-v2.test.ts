/**
 * Rancher's management Nodes of provisioning-v2 clusters over steve `/v1/management.cattle.io.nodes`
 * (nodessyncer.go): one per running machine's Node, in the management cluster's namespace, linked to
 * its CAPI machine by CAPI's Node annotations, carrying the kubelet's Ready only (the pressure
 * conditions stay on the downstream Node), driven by `/__sim/conditions`, gone with the machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { CLUSTERS_V1, MACHINES_V1, machinesOf, QUICK } from './fixtures';

const NODES_V1 = '/v1/management.cattle.io.nodes';

describe('simulator: management Nodes of provisioning-v2 clusters', () => {
  let sim: TestSimulator;
  let twin: string;
  let cluster: string;

  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: { ...QUICK, nodeDeleteMs: 100 } });
    const seeded = await sim.seed({ clusters: 2, poolsPerCluster: 1, nodesPerPool: 2, kind: 'rke2' });
    twin = seeded.clusterIds[0];
    cluster = seeded.provisioningClusterIds![0].split('/')[1];
  });
  after(() => sim.close());

  const nodesIn = async (namespace: string) => {
    const res = await sim.rancher('GET', `${NODES_V1}/${namespace}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data as any[];
  };
  const kubeletOf = async (nodeName: string) =>
    (await sim.rancher('GET', `/k8s/clusters/${twin}/api/v1/nodes/${nodeName}`)).body.status
      .conditions as Array<{
      type: string;
      status: string;
    }>;
  const statusOf = (conditions: Array<{ type: string; status: string }>) =>
    Object.fromEntries(conditions.map((c) => [c.type, c.status]));

  it('one per running machine, in the c-m namespace, named machine-…, linked to its machine', async () => {
    const machines = await machinesOf(sim, cluster);
    const nodes = await nodesIn(twin);
    assert.equal(nodes.length, machines.length);
    for (const machine of machines) {
      const node = nodes.find((n) => n.status.nodeName === machine.status.nodeRef.name);
      assert.ok(node, `a management Node for ${machine.metadata.name}`);
      assert.equal(node.type, 'management.cattle.io.node');
      assert.equal(node.apiVersion, 'management.cattle.io/v3');
      assert.equal(node.metadata.namespace, twin);
      assert.match(node.metadata.name, /^machine-[a-z0-9]{5}$/);
      assert.equal(node.id, `${twin}/${node.metadata.name}`);
      assert.equal(node.metadata.labels['management.cattle.io/nodename'], machine.status.nodeRef.name);
      assert.equal(node.spec.requestedHostname, machine.status.nodeRef.name);
      const annotations = node.status.nodeAnnotations;
      assert.equal(annotations['cluster.x-k8s.io/machine'], machine.metadata.name);
      assert.equal(annotations['cluster.x-k8s.io/cluster-namespace'], 'fleet-default');
      assert.equal(annotations['cluster.x-k8s.io/cluster-name'], cluster);
      assert.equal(annotations['cluster.x-k8s.io/owner-kind'], 'MachineSet');
      // cleanStatus: the kubelet's Ready only, copied beside Rancher's Registered.
      assert.deepEqual(statusOf(node.status.internalNodeStatus.conditions), { Ready: 'True' });
      assert.deepEqual(statusOf(node.status.conditions), { Ready: 'True', Registered: 'True' });
      assert.equal(node.metadata.state.name, 'active');
    }
    // The downstream Node itself carries every kubelet condition.
    assert.deepEqual(statusOf(await kubeletOf(machines[0].status.nodeRef.name)), {
      NetworkUnavailable: 'False',
      MemoryPressure: 'False',
      DiskPressure: 'False',
      PIDPressure: 'False',
      Ready: 'True',
    });
  });

  it('one paged list spans every cluster', async () => {
    const first = await sim.rancher('GET', `${NODES_V1}?limit=3`);
    assert.equal(first.status, 200);
    assert.equal(first.body.data.length, 3);
    assert.ok(first.body.continue, 'a continue token');
    const rest = await sim.rancher(
      'GET',
      `${NODES_V1}?limit=3&continue=${encodeURIComponent(first.body.continue)}`,
    );
    const namespaces = new Set([...first.body.data, ...rest.body.data].map((n: any) => n.metadata.namespace));
    assert.equal(namespaces.size, 2, 'both clusters’ nodes');
    assert.equal(first.body.data.length + rest.body.data.length, 4);
  });

  it('a kubelet condition set through /__sim/conditions: Ready is mirrored, pressure stays downstream', async () => {
    const [node] = await nodesIn(twin);
    const id = `${twin}/${node.metadata.name}`;
    const set = await sim.setCondition({
      type: 'node',
      id,
      condition: {
        type: 'Ready',
        status: 'False',
        reason: 'KubeletNotReady',
        message: 'PLEG is not healthy',
      },
    });
    assert.equal(set.id, id);
    const after = (await nodesIn(twin)).find((n) => n.metadata.name === node.metadata.name);
    assert.notEqual(after.metadata.resourceVersion, node.metadata.resourceVersion, 'a write');
    const ready = after.status.internalNodeStatus.conditions[0];
    assert.deepEqual(
      [ready.type, ready.status, ready.reason, ready.message],
      ['Ready', 'False', 'KubeletNotReady', 'PLEG is not healthy'],
    );
    assert.equal(after.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    assert.equal(after.metadata.state.name, 'unavailable');
    assert.equal(statusOf(await kubeletOf(node.status.nodeName)).Ready, 'False');

    await sim.setCondition({
      type: 'node',
      id,
      condition: { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory' },
    });
    assert.equal(statusOf(await kubeletOf(node.status.nodeName)).MemoryPressure, 'True');
    const pressed = (await nodesIn(twin)).find((n) => n.metadata.name === node.metadata.name);
    assert.equal(
      pressed.status.conditions.some((c: any) => c.type === 'MemoryPressure'),
      false,
      'Rancher keeps only Ready',
    );

    await sim.setCondition({ type: 'node', id, condition: { type: 'Ready', status: 'True' } });
    await sim.setCondition({ type: 'node', id, condition: { type: 'MemoryPressure', status: 'False' } });
    const healed = (await nodesIn(twin)).find((n) => n.metadata.name === node.metadata.name);
    assert.equal(healed.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  });

  it("a machine's NodeHealthy made False shows as the Node's Ready, as before", async () => {
    const [machine] = await machinesOf(sim, cluster);
    await sim.setCondition({
      type: 'machine',
      id: `fleet-default/${machine.metadata.name}`,
      condition: { type: 'NodeHealthy', status: 'False' },
    });
    const node = (await nodesIn(twin)).find((n) => n.status.nodeName === machine.status.nodeRef.name);
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'False');
    await sim.setCondition({
      type: 'machine',
      id: `fleet-default/${machine.metadata.name}`,
      condition: { type: 'NodeHealthy', status: 'True' },
    });
  });

  it('an unknown node id is 404; a bad body 400', async () => {
    const missing = await sim.rancher('POST', '/__sim/conditions', {
      type: 'node',
      id: `${twin}/machine-zzzzz`,
      condition: { type: 'Ready', status: 'False' },
    });
    assert.equal(missing.status, 404);
    const bad = await sim.rancher('POST', '/__sim/conditions', {
      type: 'node',
      id: `${twin}/machine-zzzzz`,
      condition: { type: 'Ready', status: 'Maybe' },
    });
    assert.equal(bad.status, 400);
  });

  it('goes when its machine is deleted; the replacement gets a new one', async () => {
    const [machine] = await machinesOf(sim, cluster);
    const before = await nodesIn(twin);
    const gone = before.find((n) => n.status.nodeName === machine.status.nodeRef.name);
    const deleted = await sim.rancher('DELETE', `${MACHINES_V1}/fleet-default/${machine.metadata.name}`);
    assert.equal(deleted.status, 200);
    assert.equal(
      (await sim.rancher('GET', `${NODES_V1}/${twin}/${gone.metadata.name}`)).status,
      404,
      'gone once the machine is being deleted (its Node with it)',
    );
    const replaced = await waitFor(
      async () => {
        const nodes = await nodesIn(twin);
        return nodes.length === before.length && !nodes.some((n) => n.metadata.name === gone.metadata.name)
          ? nodes
          : undefined;
      },
      { what: 'a management Node for the replacement machine' },
    );
    assert.ok(
      replaced.every((n) => n.status.nodeAnnotations['cluster.x-k8s.io/machine'] !== machine.metadata.name),
    );
  });

  it('all go with their cluster', async () => {
    const deleted = await sim.rancher('DELETE', `${CLUSTERS_V1}/fleet-default/${cluster}`);
    assert.equal(deleted.status, 200);
    assert.deepEqual(await nodesIn(twin), []);
  });
});
