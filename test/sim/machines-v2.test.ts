/** Machine pools reconciled into CAPI machines: scale, replacement, upgrades (rancher-212.md §3, rancher-api.md §9.3). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  startTestSimulator,
  waitFor,
  waitForGone,
  waitForState,
  waitForSteveState,
  type TestSimulator,
} from '../support/simulator';
import { CLUSTERS_V1, createV2Cluster, machinesOf, MACHINES_V1, QUICK, steveStatesUntil } from './fixtures';

/** Waits until the cluster's live machines per pool are exactly `counts`, all running. */
async function waitForMachines(
  sim: TestSimulator,
  cluster: string,
  counts: Record<string, number>,
): Promise<any[]> {
  let seen = '';
  return waitFor(
    async () => {
      const machines = await machinesOf(sim, cluster);
      const live = machines.filter((m) => !m.metadata.deletionTimestamp);
      const byPool: Record<string, number> = {};
      for (const m of live) {
        const pool = m.metadata.labels['rke.cattle.io/rke-machine-pool-name'];
        byPool[pool] = (byPool[pool] ?? 0) + 1;
      }
      seen = `${JSON.stringify(byPool)} ${machines.map((m) => m.metadata.state.name).join(',')}`;
      const done =
        JSON.stringify(Object.entries(byPool).sort()) === JSON.stringify(Object.entries(counts).sort()) &&
        machines.length === live.length &&
        live.every((m) => m.metadata.state.name === 'running');
      return done ? live : undefined;
    },
    { what: () => `${cluster} machines ${JSON.stringify(counts)} (saw ${seen})` },
  );
}

/** GET, change, PUT with the current resourceVersion, retried on 409 as a client must. */
async function updateSpec(sim: TestSimulator, name: string, change: (spec: any) => void): Promise<any> {
  const path = `${CLUSTERS_V1}/fleet-default/${name}`;
  for (;;) {
    const { body } = await sim.rancher('GET', path);
    change(body.spec);
    const put = await sim.rancher('PUT', path, body);
    if (put.status === 200) return put.body;
    assert.equal(put.status, 409, JSON.stringify(put.body));
  }
}

describe('provisioning v2 machines', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({
      version: 'v2.12.3',
      timings: { ...QUICK, clusterUpdateMs: 150, nodeDeleteMs: 100 },
    });
  });
  after(() => sim.close());

  it('creates one running machine per quantity, named and labelled as Rancher does', async () => {
    await createV2Cluster(sim, 'shop', [
      ['cp', 1, ['etcd', 'controlPlane']],
      ['workers', 2, ['worker']],
    ]);
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/shop`, 'active');
    const machines = await waitForMachines(sim, 'shop', { cp: 1, workers: 2 });
    const workers = machines.filter(
      (m) => m.metadata.labels['rke.cattle.io/rke-machine-pool-name'] === 'workers',
    );
    for (const machine of workers) {
      assert.match(machine.metadata.name, /^shop-workers-[a-z0-9]{10}-[a-z0-9]{5}$/);
      assert.equal(machine.id, `fleet-default/${machine.metadata.name}`);
      assert.equal(machine.type, 'cluster.x-k8s.io.machine');
      assert.equal(machine.apiVersion, 'cluster.x-k8s.io/v1beta1');
      assert.equal(machine.kind, 'Machine');
      const labels = machine.metadata.labels;
      assert.equal(labels['cluster.x-k8s.io/cluster-name'], 'shop');
      assert.equal(labels['cluster.x-k8s.io/deployment-name'], 'shop-workers');
      assert.equal(labels['rke.cattle.io/cluster-name'], 'shop');
      assert.equal(labels['rke.cattle.io/worker-role'], 'true');
      assert.equal(labels['rke.cattle.io/etcd-role'], undefined);
      assert.equal(machine.metadata.name.startsWith(labels['cluster.x-k8s.io/set-name']), true);
      assert.equal(machine.spec.clusterName, 'shop');
      assert.equal(machine.spec.infrastructureRef.kind, 'OpenstackMachine');
      assert.equal(machine.spec.providerID, `rke2://${machine.metadata.name}`);
      assert.equal(machine.status.phase, 'Running');
      assert.equal(machine.status.nodeRef.name, machine.metadata.name);
    }
    const cp = machines.find((m) => m.metadata.labels['rke.cattle.io/rke-machine-pool-name'] === 'cp');
    assert.equal(cp.metadata.labels['rke.cattle.io/etcd-role'], 'true');
    assert.equal(cp.metadata.labels['rke.cattle.io/control-plane-role'], 'true');
    const filtered = await sim.rancher('GET', `${MACHINES_V1}?filter=spec.clusterName=shop`);
    assert.equal(filtered.body.count, 3);
  });

  it('walks a machine from pending through provisioning to running', async () => {
    await createV2Cluster(sim, 'phases');
    const machine = await waitFor(async () => (await machinesOf(sim, 'phases'))[0]);
    const states = await steveStatesUntil(sim, `${MACHINES_V1}/${machine.id}`, 'running');
    assert.deepEqual(states.slice(-1), ['running']);
    assert.ok(
      states.every((s) => ['pending', 'provisioning', 'provisioned', 'running'].includes(s)),
      states.join(),
    );
  });

  it('scales a pool up and down by quantity, the cluster updating meanwhile', async () => {
    await createV2Cluster(sim, 'elastic', [
      ['cp', 1, ['etcd', 'controlPlane']],
      ['workers', 1, ['worker']],
    ]);
    const path = `${CLUSTERS_V1}/fleet-default/elastic`;
    await waitForSteveState(sim, path, 'active');
    const before = await waitForMachines(sim, 'elastic', { cp: 1, workers: 1 });
    const oldWorker = before.find(
      (m) => m.metadata.labels['rke.cattle.io/rke-machine-pool-name'] === 'workers',
    );

    const scaled = await updateSpec(sim, 'elastic', (spec) => {
      spec.rkeConfig.machinePools[1].quantity = 3;
    });
    assert.equal(scaled.metadata.generation, 2);
    await waitForSteveState(sim, path, 'updating');
    await waitForSteveState(sim, path, 'active');
    const up = await waitForMachines(sim, 'elastic', { cp: 1, workers: 3 });
    assert.ok(up.some((m) => m.metadata.name === oldWorker.metadata.name));

    // A merge PATCH needs no resourceVersion; scale down removes the oldest machine first.
    const current = (await sim.rancher('GET', path)).body;
    const pools = structuredClone(current.spec.rkeConfig.machinePools);
    pools[1].quantity = 2;
    const patched = await sim.rancher('PATCH', path, { spec: { rkeConfig: { machinePools: pools } } });
    assert.equal(patched.status, 200);
    const down = await waitForMachines(sim, 'elastic', { cp: 1, workers: 2 });
    assert.ok(!down.some((m) => m.metadata.name === oldWorker.metadata.name), 'the oldest worker went');
    await waitForSteveState(sim, path, 'active');
  });

  it('deletes the annotated machine first when a pool scales down', async () => {
    await createV2Cluster(sim, 'pick', [['all', 3, ['etcd', 'controlPlane', 'worker']]]);
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/pick`, 'active');
    const machines = await waitForMachines(sim, 'pick', { all: 3 });
    const newest = machines.sort((a, b) =>
      a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp),
    )[2];
    const annotated = await sim.rancher('PATCH', `${MACHINES_V1}/${newest.id}`, {
      metadata: { annotations: { 'cluster.x-k8s.io/delete-machine': 'true' } },
    });
    assert.equal(annotated.status, 200);
    await updateSpec(sim, 'pick', (spec) => {
      spec.rkeConfig.machinePools[0].quantity = 2;
    });
    const left = await waitForMachines(sim, 'pick', { all: 2 });
    assert.ok(!left.some((m) => m.metadata.name === newest.metadata.name));
  });

  it('replaces a deleted machine while the quantity stays', async () => {
    await createV2Cluster(sim, 'heal', [['all', 2, ['etcd', 'controlPlane', 'worker']]]);
    const path = `${CLUSTERS_V1}/fleet-default/heal`;
    await waitForSteveState(sim, path, 'active');
    const machines = await waitForMachines(sim, 'heal', { all: 2 });
    const victim = machines[0];

    const deleted = await sim.rancher('DELETE', `${MACHINES_V1}/${victim.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.metadata.state.name, 'removing');
    assert.ok(deleted.body.metadata.deletionTimestamp);
    await waitForGone(sim, `${MACHINES_V1}/${victim.id}`);

    const after = await waitForMachines(sim, 'heal', { all: 2 });
    assert.ok(!after.some((m) => m.metadata.name === victim.metadata.name));
    const replacement = after.find((m) => m.metadata.name !== machines[1].metadata.name)!;
    assert.equal(
      replacement.metadata.labels['cluster.x-k8s.io/set-name'],
      victim.metadata.labels['cluster.x-k8s.io/set-name'],
    );
    await waitForSteveState(sim, path, 'active');
    const spec = (await sim.rancher('GET', path)).body.spec;
    assert.equal(spec.rkeConfig.machinePools[0].quantity, 2);
  });

  it('replaces a machine whose node stays unhealthy past unhealthyNodeTimeout (the MachineHealthCheck)', async () => {
    await createV2Cluster(sim, 'mhc', [['all', 2, ['etcd', 'controlPlane', 'worker']]]);
    const path = `${CLUSTERS_V1}/fleet-default/mhc`;
    await waitForSteveState(sim, path, 'active');
    const [sick, well] = await waitForMachines(sim, 'mhc', { all: 2 });
    // No timeout, no health check: the unhealthy machine stays.
    await sim.setCondition({
      type: 'machine',
      id: sick.id,
      condition: { type: 'NodeHealthy', status: 'False' },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await sim.rancher('GET', `${MACHINES_V1}/${sick.id}`)).status, 200);
    const started = Date.now();
    await updateSpec(sim, 'mhc', (spec) => {
      spec.rkeConfig.machinePools[0].unhealthyNodeTimeout = '1s';
    });
    await waitForGone(sim, `${MACHINES_V1}/${sick.id}`);
    assert.ok(Date.now() - started >= 500, 'not before the timeout');
    const after = await waitForMachines(sim, 'mhc', { all: 2 });
    assert.ok(!after.some((m) => m.metadata.name === sick.metadata.name));
    assert.ok(after.some((m) => m.metadata.name === well.metadata.name));
  });

  it('upgrades on a kubernetesVersion change: updating, then active on the new version', async () => {
    await createV2Cluster(sim, 'upgrade');
    const path = `${CLUSTERS_V1}/fleet-default/upgrade`;
    const active = await waitForSteveState(sim, path, 'active');
    const twinPath = `/v3/clusters/${active.status.clusterName}`;
    assert.equal((await waitForState(sim, twinPath, 'active')).version.gitVersion, 'v1.31.9+rke2r1');

    await updateSpec(sim, 'upgrade', (spec) => {
      spec.kubernetesVersion = 'v1.32.5+rke2r1';
    });
    const states = await steveStatesUntil(sim, path, 'active');
    assert.deepEqual(states, ['updating', 'active']);
    const upgraded = (await sim.rancher('GET', path)).body;
    const updated = upgraded.status.conditions.find((c: any) => c.type === 'Updated');
    assert.equal(updated.status, 'True');
    assert.equal(upgraded.status.observedGeneration, upgraded.metadata.generation);
    const twin = await waitForState(sim, twinPath, 'active');
    assert.equal(twin.version.gitVersion, 'v1.32.5+rke2r1');
    assert.equal(
      (await sim.rancher('GET', `/k8s/clusters/${twin.id}/version`)).body.gitVersion,
      'v1.32.5+rke2r1',
    );
  });

  it('removes the machines of a pool taken out of the spec', async () => {
    await createV2Cluster(sim, 'shrink', [
      ['cp', 1, ['etcd', 'controlPlane', 'worker']],
      ['extra', 2, ['worker']],
    ]);
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/shrink`, 'active');
    await waitForMachines(sim, 'shrink', { cp: 1, extra: 2 });
    await updateSpec(sim, 'shrink', (spec) => {
      spec.rkeConfig.machinePools = spec.rkeConfig.machinePools.slice(0, 1);
    });
    await waitForMachines(sim, 'shrink', { cp: 1 });
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/shrink`, 'active');
  });

  it('shows the running machines as nodes of the downstream cluster', async () => {
    await createV2Cluster(sim, 'nodes', [['all', 2, ['etcd', 'controlPlane', 'worker']]]);
    const active = await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/nodes`, 'active');
    const machines = await waitForMachines(sim, 'nodes', { all: 2 });
    const nodes = await sim.rancher('GET', `/k8s/clusters/${active.status.clusterName}/api/v1/nodes`);
    assert.equal(nodes.status, 200);
    assert.deepEqual(
      nodes.body.items.map((n: any) => n.metadata.name).sort(),
      machines.map((m) => m.metadata.name).sort(),
    );
    const node = nodes.body.items[0];
    assert.equal(node.metadata.labels['node-role.kubernetes.io/etcd'], 'true');
    assert.equal(node.metadata.labels['node-role.kubernetes.io/control-plane'], 'true');
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.31.9+rke2r1');
  });
});
