/** The control API on `/v1` paths: faults, the call log, conditions and seeding (design.md "The simulator"). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, waitFor, waitForSteveState, type TestSimulator } from '../support/simulator';
import {
  CLUSTERS_V1,
  createMachineConfig,
  createV2Cluster,
  machinesOf,
  MACHINES_V1,
  QUICK,
  v2ClusterBody,
} from './fixtures';

describe('control API on provisioning v2', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK });
  });
  after(() => sim.close());

  it('logs /v1 calls and fails them with steve-shaped errors on request', async () => {
    await sim.clearCalls();
    const config = await createMachineConfig(sim, 'nc-faulty-');
    await sim.faults.add({
      method: 'POST',
      path: '^/v1/provisioning\\.cattle\\.io\\.clusters$',
      status: 503,
      times: 1,
    });
    const failed = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('faulty', config.metadata.name));
    assert.equal(failed.status, 503);
    assert.equal(failed.body.type, 'error');
    assert.equal(
      (await sim.rancher('GET', `${CLUSTERS_V1}/fleet-default/faulty`)).status,
      404,
      'nothing applied',
    );
    assert.deepEqual(failed.body, {
      type: 'error',
      links: {},
      code: 'ServiceUnavailable',
      message: 'simulated fault',
      status: 503,
    });
    const retried = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('faulty', config.metadata.name));
    assert.equal(retried.status, 201);
    const calls = (await sim.calls()).map((c) => `${c.method} ${c.path} ${c.status}`);
    assert.deepEqual(calls, [
      'POST /v1/rke-machine-config.cattle.io.openstackconfigs 201',
      'POST /v1/provisioning.cattle.io.clusters 503',
      'GET /v1/provisioning.cattle.io.clusters/fleet-default/faulty 404',
      'POST /v1/provisioning.cattle.io.clusters 201',
    ]);
  });

  it('applies a write whose answer it drops', async () => {
    const config = await createMachineConfig(sim, 'nc-dropped-');
    await sim.faults.add({ method: 'POST', path: '^/v1/provisioning', dropResponse: true, times: 1 });
    await assert.rejects(sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('dropped', config.metadata.name)));
    const applied = await sim.rancher('GET', `${CLUSTERS_V1}/fleet-default/dropped`);
    assert.equal(applied.status, 200);
    const again = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('dropped', config.metadata.name));
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'AlreadyExists');
  });

  it('stops a cluster at a False condition and lets it go on when cleared', async () => {
    await createV2Cluster(sim, 'stuck');
    const id = 'fleet-default/stuck';
    const failed = await sim.setCondition({
      type: 'provisioningCluster',
      id,
      condition: { type: 'Provisioned', status: 'False', message: 'failed creating server [nova quota]' },
    });
    assert.deepEqual(failed.metadata.state, {
      name: 'provisioning',
      error: true,
      transitioning: false,
      message: 'failed creating server [nova quota]',
    });
    const twin = await sim.rancher('GET', `/v3/clusters/${failed.status.clusterName}`);
    assert.equal(twin.body.transitioning, 'error');
    // The machines still come up; the cluster does not move on while Provisioned is False.
    await waitFor(async () =>
      (await machinesOf(sim, 'stuck')).every((m) => m.metadata.state.name === 'running'),
    );
    assert.equal((await sim.rancher('GET', `${CLUSTERS_V1}/${id}`)).body.metadata.state.error, true);

    await sim.setCondition({
      type: 'provisioningCluster',
      id,
      condition: { type: 'Provisioned', status: 'Unknown' },
    });
    await waitForSteveState(sim, `${CLUSTERS_V1}/${id}`, 'active');
  });

  it('fails a machine by condition and resumes it', async () => {
    await createV2Cluster(sim, 'broken-vm');
    const machine = await waitFor(async () => (await machinesOf(sim, 'broken-vm'))[0]);
    const failed = await sim.setCondition({
      type: 'machine',
      id: machine.id,
      condition: {
        type: 'InfrastructureReady',
        status: 'False',
        message: 'Error creating machine: quota exceeded',
      },
    });
    assert.equal(failed.metadata.state.name, 'failed');
    assert.equal(failed.metadata.state.error, true);
    assert.equal(failed.metadata.state.message, 'Error creating machine: quota exceeded');
    await sim.setCondition({
      type: 'machine',
      id: machine.id,
      condition: { type: 'InfrastructureReady', status: 'Unknown' },
    });
    await waitForSteveState(sim, `${MACHINES_V1}/${machine.id}`, 'running');
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/broken-vm`, 'active');
  });

  it('refuses a condition for an object that does not exist', async () => {
    const response = await sim.rancher('POST', '/__sim/conditions', {
      type: 'provisioningCluster',
      id: 'fleet-default/nope',
      condition: { type: 'Ready', status: 'False' },
    });
    assert.equal(response.status, 404);
  });

  it('seeds active provisioning v2 clusters with machines and twins', async () => {
    const result = await sim.seed({
      clusters: 3,
      poolsPerCluster: 2,
      nodesPerPool: 2,
      namePrefix: 'bench-',
      labels: { team: 'x' },
    });
    assert.equal(result.clusterIds.length, 3);
    assert.deepEqual(result.provisioningClusterIds, [
      'fleet-default/bench-1',
      'fleet-default/bench-2',
      'fleet-default/bench-3',
    ]);
    assert.equal(result.nodePools, 6);
    assert.equal(result.nodes, 12);
    const cluster = (await sim.rancher('GET', `${CLUSTERS_V1}/fleet-default/bench-2`)).body;
    assert.equal(cluster.metadata.state.name, 'active');
    assert.equal(cluster.metadata.labels.team, 'x');
    assert.equal(cluster.status.clusterName, result.clusterIds[1]);
    assert.equal(cluster.spec.rkeConfig.machinePools.length, 2);
    const config = cluster.spec.rkeConfig.machinePools[0].machineConfigRef;
    assert.equal(
      (
        await sim.rancher(
          'GET',
          `/v1/rke-machine-config.cattle.io.openstackconfigs/fleet-default/${config.name}`,
        )
      ).status,
      200,
    );
    const machines = await machinesOf(sim, 'bench-2');
    assert.equal(machines.length, 4);
    assert.ok(machines.every((m) => m.metadata.state.name === 'running'));
    const twin = (await sim.rancher('GET', `/v3/clusters/${result.clusterIds[1]}`)).body;
    assert.equal(twin.state, 'active');
    assert.equal(twin.driver, 'rke2');
    // A seeded cluster behaves like any other: scaling it works.
    const pools = structuredClone(cluster.spec.rkeConfig.machinePools);
    pools[1].quantity = 3;
    await sim.rancher('PATCH', `${CLUSTERS_V1}/fleet-default/bench-2`, {
      spec: { rkeConfig: { machinePools: pools } },
    });
    await waitFor(
      async () =>
        (await machinesOf(sim, 'bench-2')).filter((m) => m.metadata.state.name === 'running').length === 5,
    );
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/bench-2`, 'active');

    const k3s = await sim.seed({ clusters: 1, kind: 'k3s', namePrefix: 'edge-' });
    assert.equal((await sim.rancher('GET', `/v3/clusters/${k3s.clusterIds[0]}`)).body.driver, 'k3s');
    const rke1 = await sim.rancher('POST', '/__sim/seed', { clusters: 1, kind: 'rke1' });
    assert.equal(rke1.status, 400);
  });
});
