/**
 * The rke2 driver's domain operations against a simulated Rancher 2.12 over HTTP: probe and
 * versions, machine configs looked up before they are made, one provisioning cluster with its
 * pools inline, pool changes as one update with `resourceVersion` (redone on a real stale-version
 * 409), machines as nodes, the management twin, and deletes that leave nothing behind.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackendDriver } from '../../src/rancher-backends/backend-driver.factory';
import { PADDOCK_LABELS } from '../../src/rancher-backends/backend-driver';
import type {
  BackendDriver,
  BackendDriverSettings,
  ClusterBackupSpec,
  NodePoolCreateSpec,
} from '../../src/rancher-backends/backend-driver';
import { startTestS3, TestS3 } from '../support/s3';
import { TestSimulator, all, callsOf, rejection, startTestSimulator, waitFor } from '../support/simulator';

const CLUSTER_ID = '0b7f3a52-8a43-4c61-9d4e-2f1a55e0c001';
const POOLS = {
  control: '0b7f3a52-8a43-4c61-9d4e-2f1a55e0c0a1',
  workers: '0b7f3a52-8a43-4c61-9d4e-2f1a55e0c0a2',
};
const SETTINGS: BackendDriverSettings = {
  flavors: {
    'm1.large': {
      machineConfig: {
        kind: 'OpenstackConfig',
        fields: { flavorName: 'm1.large', imageName: 'ubuntu-22.04' },
      },
    },
  },
  cloudCredential: 'cattle-global-data:cc-test',
};

function pool(name: keyof typeof POOLS, quantity: number, worker: boolean): NodePoolCreateSpec {
  return {
    clusterId: '',
    name,
    hostnamePrefix: `drv-${name}-`,
    quantity,
    roles: { etcd: !worker, controlPlane: !worker, worker },
    nodeTemplateId: 'm1.large',
    labels: {
      [PADDOCK_LABELS.managed]: 'true',
      [PADDOCK_LABELS.clusterId]: CLUSTER_ID,
      [PADDOCK_LABELS.poolId]: POOLS[name],
    },
  };
}

describe('rke2 driver against a simulated Rancher 2.12', () => {
  let sim: TestSimulator;
  let s3: TestS3;
  let driver: BackendDriver & { close(): void };
  const clusterId = 'fleet-default/drv-a';
  const BUCKET = 'drv-a-backups';
  const backupSpec = (intervalHours: number, retention: number): ClusterBackupSpec => ({
    schedule: { intervalHours, retention },
    target: {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: BUCKET,
      accessKey: s3.accessKeyId,
      secretKey: s3.secretAccessKey,
    },
  });

  before(async () => {
    s3 = await startTestS3();
    await s3.ensureBucket(BUCKET);
    sim = await startTestSimulator({
      version: 'v2.12.3',
      nodeTemplates: [{ name: 'm1.large' }],
      // Long enough to catch the twin still being removed after its cluster is gone.
      timings: { etcdBackupMs: 50, clusterDeleteMs: 1_500 },
    });
    const probeDriver = createBackendDriver(
      'rke2',
      { name: 'sim', url: sim.url, token: sim.token },
      {},
      SETTINGS,
    );
    const { kubernetesVersions } = await probeDriver.probe();
    probeDriver.close();
    driver = createBackendDriver(
      'rke2',
      { name: 'sim', url: sim.url, token: sim.token },
      { retryBaseDelayMs: 10, retryMaxDelayMs: 50, timeoutMs: 5_000 },
      { ...SETTINGS, kubernetesVersions },
    );
  });
  after(async () => {
    driver?.close();
    await sim?.close();
    await s3?.close();
  });

  test('probe reports the version and the RKE2/K3s releases; versions resolve to the rke2 spelling', async () => {
    const probe = await driver.probe();
    assert.equal(probe.version, 'v2.12.3');
    assert.ok(
      probe.kubernetesVersions.some((v) => v.includes('+rke2r')),
      probe.kubernetesVersions.join(),
    );
    const full = probe.kubernetesVersions.find((v) => v.includes('+rke2r'))!;
    const plain = full.split('+')[0];
    assert.equal(driver.resolveKubernetesVersion(plain), full);
    assert.match(driver.resolveKubernetesVersion(plain.split('.').slice(0, 2).join('.'))!, /\+rke2r\d+$/);
    assert.equal(driver.resolveKubernetesVersion('v1.2.3'), null);
  });

  test('a flavor is found when its machine-config schema answers; an unknown flavor is not', async () => {
    assert.equal((await driver.findNodeTemplate('m1.large'))?.driver, 'OpenstackConfig');
    assert.equal(await driver.findNodeTemplate('m9.huge'), null);
  });

  test('create: one machine config per pool (a second prepare finds it), then one cluster POST with both pools inline', async () => {
    await sim.clearCalls();
    const specs = [pool('control', 1, false), pool('workers', 2, true)];
    for (const spec of specs) await driver.prepareNodePool(spec);
    for (const spec of specs) await driver.prepareNodePool(spec); // a retried step
    const created = await driver.createCluster({
      name: 'drv-a',
      labels: { [PADDOCK_LABELS.managed]: 'true', [PADDOCK_LABELS.clusterId]: CLUSTER_ID },
      nodePools: specs,
    });
    assert.equal(created.id, clusterId);
    const calls = await sim.calls();
    assert.equal(
      callsOf(calls, 'POST', /^\/v1\/rke-machine-config\.cattle\.io\.openstackconfigs$/).length,
      2,
    );
    assert.equal(callsOf(calls, 'POST', /^\/v1\/provisioning\.cattle\.io\.clusters$/).length, 1);
    const pools = await driver.listNodePools(clusterId);
    assert.deepEqual(pools.map((p) => [p.id, p.quantity, p.labels[PADDOCK_LABELS.poolId]]).sort(), [
      [`${clusterId}/control`, 1, POOLS.control],
      [`${clusterId}/workers`, 2, POOLS.workers],
    ]);
    assert.equal((await driver.findClusterByName('drv-a'))?.id, clusterId);
  });

  test('the cluster becomes active with its management twin; machines are its nodes', async () => {
    const active = await waitFor(
      async () => {
        const c = await driver.getCluster(clusterId);
        return c?.state === 'active' ? c : undefined;
      },
      { what: 'drv-a active', timeoutMs: 20_000 },
    );
    assert.match(active.managementId ?? '', /^c-m-[a-z0-9]{8}$/);
    assert.equal((await sim.rancher('GET', `/v3/clusters/${active.managementId}`)).status, 200);
    const nodes = (await all(driver.nodePages())).filter((n) => n.clusterId === clusterId);
    assert.equal(nodes.length, 3);
    assert.ok(nodes.every((n) => n.state === 'active'));
    assert.equal(nodes.filter((n) => n.nodePoolId === `${clusterId}/workers`).length, 2);
    const listed = (await all(driver.clusterPages())).map((c) => c.id);
    assert.ok(listed.includes(clusterId));
  });

  test("each node carries its Node's conditions from Rancher's management Nodes: the kubelet's Ready, Registered", async () => {
    const nodes = (await all(driver.nodePages())).filter((n) => n.clusterId === clusterId);
    for (const node of nodes) {
      const ready = node.conditions.find((c) => c.type === 'Ready');
      assert.deepEqual([ready?.status, ready?.reason], ['True', 'KubeletReady'], 'the kubelet’s Ready');
      assert.equal(node.conditions.find((c) => c.type === 'Registered')?.status, 'True');
      assert.equal(node.conditions.find((c) => c.type === 'NodeHealthy')?.status, 'True', 'CAPI’s kept');
    }
    const twin = (await driver.getCluster(clusterId))!.managementId!;
    const listed = (await sim.rancher('GET', `/v1/management.cattle.io.nodes/${twin}`)).body.data;
    const target = listed.find((n: any) => n.status.nodeName === nodes[0].hostname);
    await sim.setCondition({
      type: 'node',
      id: `${twin}/${target.metadata.name}`,
      condition: {
        type: 'Ready',
        status: 'False',
        reason: 'KubeletNotReady',
        message: 'PLEG is not healthy',
      },
    });
    try {
      const after = (await all(driver.nodePages())).filter((n) => n.clusterId === clusterId);
      const byHost = new Map(after.map((n) => [n.hostname, n]));
      const ready = byHost.get(nodes[0].hostname)!.conditions.find((c) => c.type === 'Ready');
      assert.deepEqual([ready?.status, ready?.message], ['False', 'PLEG is not healthy']);
      for (const other of nodes.slice(1))
        assert.equal(byHost.get(other.hostname)!.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    } finally {
      await sim.setCondition({
        type: 'node',
        id: `${twin}/${target.metadata.name}`,
        condition: { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      });
    }
  });

  test('node conditions cost one list per page of management Nodes across all clusters, none per cluster', async () => {
    const local = await startTestSimulator({ version: 'v2.12.3', nodeTemplates: [{ name: 'm1.large' }] });
    const paged = createBackendDriver(
      'rke2',
      { name: 'paged', url: local.url, token: local.token },
      { retryBaseDelayMs: 10, retryMaxDelayMs: 50, timeoutMs: 5_000, pageSize: 50 },
      SETTINGS,
    );
    try {
      await local.seed({ clusters: 30, poolsPerCluster: 2, nodesPerPool: 2, kind: 'rke2' });
      await local.clearCalls();
      const nodes = await all(paged.nodePages());
      assert.equal(nodes.length, 120);
      assert.ok(
        nodes.every((n) => n.conditions.some((c) => c.type === 'Registered')),
        'every node joined',
      );
      const calls = await local.calls();
      assert.equal(callsOf(calls, 'GET', /^\/v1\/cluster\.x-k8s\.io\.machines\/fleet-default$/).length, 3);
      assert.equal(callsOf(calls, 'GET', /^\/v1\/management\.cattle\.io\.nodes$/).length, 3);
      assert.equal(calls.length, 6, calls.map((c) => c.path).join(' '));
    } finally {
      paged.close();
      await local.close();
    }
  });

  test('scale is one PUT with the resourceVersion read; a real stale-version 409 is re-read and redone', async () => {
    // The PUT waits in the simulator while another writer changes the object: its version is stale.
    await sim.faults.add({
      method: 'PUT',
      path: '^/v1/provisioning\\.cattle\\.io\\.clusters/',
      delayMs: 400,
      times: 1,
    });
    await sim.clearCalls();
    const scaling = driver.scaleNodePool(`${clusterId}/workers`, 3);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const bumped = await sim.rancher(
      'PATCH',
      `/v1/provisioning.cattle.io.clusters/${clusterId}`,
      { metadata: { annotations: { 'example.com/touched': 'yes' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    assert.equal(bumped.status, 200);
    const scaled = await scaling;
    assert.equal(scaled.quantity, 3);
    const puts = callsOf(await sim.calls(), 'PUT', /^\/v1\/provisioning\.cattle\.io\.clusters\//);
    assert.deepEqual(
      puts.map((c) => c.status),
      [409, 200],
    );
    const object = await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`);
    assert.equal(
      object.body.metadata.annotations['example.com/touched'],
      'yes',
      'the other writer kept its change',
    );
    // Scaling to what it already is writes nothing.
    await sim.clearCalls();
    await driver.scaleNodePool(`${clusterId}/workers`, 3);
    assert.equal(callsOf(await sim.calls(), 'PUT', /./).length, 0);
  });

  test("auto-replace is the pool's unhealthyNodeTimeout (removed when off); deleting a machine is one DELETE and the MachineSet remakes it", async () => {
    const poolOf = async () =>
      (
        await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)
      ).body.spec.rkeConfig.machinePools.find((p: { name: string }) => p.name === 'workers');
    await driver.setNodePoolAutoReplace(`${clusterId}/workers`, 600);
    assert.equal((await poolOf()).unhealthyNodeTimeout, '600s');
    await sim.clearCalls();
    await driver.setNodePoolAutoReplace(`${clusterId}/workers`, 600);
    assert.equal(
      callsOf(await sim.calls(), 'PUT', /provisioning/).length,
      0,
      'the same value writes nothing',
    );
    await driver.setNodePoolAutoReplace(`${clusterId}/workers`, null);
    assert.equal('unhealthyNodeTimeout' in (await poolOf()), false);

    const workers = async () =>
      (await all(driver.nodePages())).filter(
        (n) => n.nodePoolId === `${clusterId}/workers` && n.state !== 'removing',
      );
    const [victim] = await workers();
    await sim.clearCalls();
    await driver.deleteNode(victim.id);
    assert.deepEqual(
      (await sim.calls()).filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`),
      [`DELETE /v1/cluster.x-k8s.io.machines/${victim.id}`],
    );
    const quantity = (await poolOf()).quantity;
    await waitFor(
      async () => {
        const now = await workers();
        return now.length === quantity && now.every((n) => n.id !== victim.id && n.state === 'active');
      },
      { what: 'the machine remade', timeoutMs: 20_000 },
    );
    await driver.deleteNode(victim.id);
  });

  test('backup schedule: one S3 credential per cluster (looked up before made), rkeConfig.etcd names it; a stale-version 409 is redone', async () => {
    await sim.clearCalls();
    await sim.faults.add({
      method: 'PUT',
      path: '^/v1/provisioning\\.cattle\\.io\\.clusters/',
      delayMs: 400,
      times: 1,
    });
    const setting = driver.setBackupSchedule(clusterId, backupSpec(6, 3));
    await new Promise((resolve) => setTimeout(resolve, 250));
    await sim.rancher(
      'PATCH',
      `/v1/provisioning.cattle.io.clusters/${clusterId}`,
      { metadata: { annotations: { 'example.com/touched': 'again' } } },
      { 'content-type': 'application/merge-patch+json' },
    );
    await setting;
    await driver.setBackupSchedule(clusterId, backupSpec(6, 3)); // a retried step: nothing new
    const calls = await sim.calls();
    assert.equal(callsOf(calls, 'POST', /^\/v3\/cloudcredentials$/).length, 1);
    assert.deepEqual(
      callsOf(calls, 'PUT', /^\/v1\/provisioning\.cattle\.io\.clusters\//).map((c) => c.status),
      [409, 200],
    );
    const etcd = (await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)).body.spec
      .rkeConfig.etcd;
    assert.equal(etcd.snapshotScheduleCron, '0 */6 * * *');
    assert.equal(etcd.snapshotRetention, 3);
    // RKE2 takes host:port and speaks HTTPS unless `etcd-s3-insecure`, which only machineGlobalConfig can say.
    assert.deepEqual(
      { bucket: etcd.s3.bucket, endpoint: etcd.s3.endpoint, region: etcd.s3.region },
      { bucket: BUCKET, endpoint: new URL(s3.endpoint).host, region: s3.region },
    );
    const global = (await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)).body.spec
      .rkeConfig.machineGlobalConfig;
    assert.equal(global['etcd-s3-insecure'], true, 'the embedded store speaks plain HTTP');
    const credential = await sim.rancher('GET', `/v3/cloudcredentials/${etcd.s3.cloudCredentialName}`);
    assert.equal(credential.status, 200);
    assert.equal(credential.body.s3credentialConfig.accessKey, s3.accessKeyId);
    assert.equal(credential.body.s3credentialConfig.secretKey, undefined, 'never shown back');
    // Two days become every second day at midnight: cron has no "every 48 hours".
    await driver.setBackupSchedule(clusterId, backupSpec(48, 3));
    const daily = (await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)).body.spec
      .rkeConfig.etcd;
    assert.equal(daily.snapshotScheduleCron, '0 0 */2 * *');
  });

  test('takeBackup raises the generation and answers a marker; getBackup resolves it to the S3 snapshot in the bucket', async () => {
    const marker = await driver.takeBackup(clusterId);
    assert.equal(marker.state, 'activating');
    const spec = (await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)).body.spec;
    assert.equal(spec.rkeConfig.etcdSnapshotCreate.generation, 1);
    const backup = await waitFor(
      async () => {
        const b = await driver.getBackup(marker.id);
        return b?.state === 'active' ? b : undefined;
      },
      { what: 'the snapshot of generation 1', timeoutMs: 10_000 },
    );
    assert.equal(backup.clusterId, clusterId);
    assert.equal(backup.id, `fleet-default/${backup.name}`);
    assert.equal(backup.manual, true);
    assert.match(backup.kubernetesVersion ?? '', /^v1\.\d+/);
    // Read again by its own id, it is still manual: RKE2 named it `on-demand-<node>-<time>`.
    assert.deepEqual(await driver.getBackup(backup.id), backup);
    const objects = await s3.objects(BUCKET);
    assert.equal(objects.length, 1);
    assert.equal(backup.size, objects[0].size);
    // The sync's list: the S3 copy only (the local ones per etcd node are not backups in the bucket).
    const listed = (await all(driver.backupPages())).filter((b) => b.clusterId === clusterId);
    assert.deepEqual(
      listed.map((b) => b.id),
      [backup.id],
    );
    // A second backup resolves to the new snapshot, not the first.
    const second = await driver.takeBackup(clusterId);
    const next = await waitFor(
      async () => {
        const b = await driver.getBackup(second.id);
        return b?.state === 'active' ? b : undefined;
      },
      { what: 'the snapshot of generation 2', timeoutMs: 10_000 },
    );
    assert.notEqual(next.id, backup.id);
  });

  test('restore: one etcdSnapshotRestore update (a retry is not resent), progress done once Finished', async () => {
    const [backup] = (await all(driver.backupPages())).filter((b) => b.clusterId === clusterId);
    await sim.clearCalls();
    await driver.restoreBackup(clusterId, backup.id, false);
    await driver.restoreBackup(clusterId, backup.id, false);
    const puts = callsOf(await sim.calls(), 'PUT', /^\/v1\/provisioning\.cattle\.io\.clusters\//);
    assert.equal(puts.length, 1, 'the pending restore is not sent twice');
    const restore = (await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${clusterId}`)).body.spec
      .rkeConfig.etcdSnapshotRestore;
    assert.deepEqual(restore, { name: backup.name, generation: 1, restoreRKEConfig: 'none' });
    await waitFor(
      async () => ((await driver.restoreProgress(clusterId)).phase === 'done' ? true : undefined),
      { what: 'restore done', timeoutMs: 20_000 },
    );
    assert.deepEqual(await driver.restoreProgress('fleet-default/nope'), { phase: 'gone' });
  });

  test('add and remove a pool: one update each; removing its machine config leaves nothing labelled with it', async () => {
    const extraId = '0b7f3a52-8a43-4c61-9d4e-2f1a55e0c0a3';
    const extra: NodePoolCreateSpec = {
      ...pool('workers', 1, true),
      clusterId,
      name: 'extra',
      hostnamePrefix: 'drv-extra-',
      labels: { ...pool('workers', 1, true).labels, [PADDOCK_LABELS.poolId]: extraId },
    };
    await driver.prepareNodePool(extra);
    await sim.clearCalls();
    const added = await driver.createNodePool(extra);
    assert.equal(added.id, `${clusterId}/extra`);
    await driver.createNodePool(extra); // a retried step finds it: no second write
    assert.equal(callsOf(await sim.calls(), 'PUT', /./).length, 1);
    await driver.deleteNodePool(added.id);
    await driver.deleteNodePool(added.id);
    assert.equal(await driver.getNodePool(added.id), null);
    await driver.releaseNodePools({ clusterId: CLUSTER_ID, poolId: extraId });
    const configs = await sim.rancher('GET', '/v1/rke-machine-config.cattle.io.openstackconfigs');
    assert.ok(
      !configs.body.data.some(
        (c: any) => c.metadata.labels?.[PADDOCK_LABELS.poolId] === extraId && !c.metadata.deletionTimestamp,
      ),
    );
  });

  test('a create of a taken name is refused with AlreadyExists; a version the backend lacks is refused before any call', async () => {
    const duplicate = await rejection(() =>
      driver.createCluster({ name: 'drv-a', labels: {}, nodePools: [] }),
    );
    assert.equal(duplicate.kind, 'conflict');
    assert.equal(duplicate.rancherCode, 'AlreadyExists');
    const old = await rejection(() =>
      driver.createCluster({ name: 'drv-b', kubernetesVersion: 'v1.2.3', labels: {}, nodePools: [] }),
    );
    assert.equal(old.kind, 'invalid');
  });

  test('the sync lists the twins: /v3 twins carry the cluster’s labels and the administrated mark', async () => {
    const remote = (await driver.getCluster(clusterId))!;
    const twin = (await sim.rancher('GET', `/v3/clusters/${remote.managementId}`)).body;
    assert.equal(twin.labels[PADDOCK_LABELS.clusterId], CLUSTER_ID);
    assert.equal(twin.annotations['provisioning.cattle.io/administrated'], 'true');
    await sim.clearCalls();
    const listed = await all(driver.clusterPages());
    // A twin whose cluster was listed is not reported a second time.
    assert.deepEqual(
      listed.filter((c) => c.managementId === remote.managementId).map((c) => c.id),
      [clusterId],
    );
    assert.deepEqual(
      (await sim.calls()).map((c) => `${c.method} ${c.path}`),
      ['GET /v1/provisioning.cattle.io.clusters/fleet-default', 'GET /v3/clusters'],
    );
  });

  test('delete: the cluster goes, then its twin (the sync reports it removing until then); releasing its machine configs leaves none', async () => {
    const managementId = (await driver.getCluster(clusterId))!.managementId;
    await driver.deleteCluster(clusterId);
    await driver.deleteCluster(clusterId);
    await waitFor(async () => ((await driver.getCluster(clusterId)) === null ? true : undefined), {
      what: 'drv-a gone',
      timeoutMs: 20_000,
    });
    // The provisioning cluster is gone; its twin is still being removed for a while.
    const listed = await all(driver.clusterPages());
    assert.equal((await sim.rancher('GET', `/v3/clusters/${managementId}`)).body.state, 'removing');
    const lingering = listed.find((c) => c.id === clusterId);
    assert.ok(lingering, `drv-a still listed (as its twin): ${JSON.stringify(listed)}`);
    assert.equal(lingering.removing, true);
    assert.equal(lingering.state, 'removing');
    assert.equal(lingering.managementId, managementId);
    assert.equal(lingering.labels[PADDOCK_LABELS.clusterId], CLUSTER_ID);
    await waitFor(
      async () =>
        (await sim.rancher('GET', `/v3/clusters/${managementId}`)).status === 404 ? true : undefined,
      {
        what: 'twin gone',
        timeoutMs: 20_000,
      },
    );
    await driver.releaseNodePools({ clusterId: CLUSTER_ID });
    const credentials = (await sim.rancher('GET', '/v3/cloudcredentials')).body.data;
    assert.deepEqual(
      credentials.filter((c: any) => c.name === `paddock-etcd-${CLUSTER_ID}`),
      [],
      'the S3 credential goes with the cluster',
    );
    const configs = await sim.rancher('GET', '/v1/rke-machine-config.cattle.io.openstackconfigs');
    assert.deepEqual(
      configs.body.data
        .filter(
          (c: any) =>
            c.metadata.labels?.[PADDOCK_LABELS.clusterId] === CLUSTER_ID && !c.metadata.deletionTimestamp,
        )
        .map((c: any) => c.id),
      [],
    );
  });
});
