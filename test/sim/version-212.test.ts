/** `--version`: what 2.12+ serves instead of RKE1, version endpoints and release lists (rancher-212.md §1). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSimulator } from '../../sim/simulator';
import {
  startTestSimulator,
  waitFor,
  waitForState,
  waitForSteveState,
  type TestSimulator,
} from '../support/simulator';
import { CLUSTERS_V1, createCluster, createV2Cluster, QUICK, TEMPLATE } from './fixtures';

describe('a v2.12 simulator', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK, nodeTemplates: [TEMPLATE] });
  });
  after(() => sim.close());

  it('reports its version unauthenticated at /rancherversion and in the settings', async () => {
    const unauthenticated = await fetch(`${sim.url}/rancherversion`);
    assert.equal(unauthenticated.status, 200);
    assert.deepEqual(await unauthenticated.json(), {
      Version: 'v2.12.3',
      GitCommit: '0000000',
      RancherPrime: 'false',
    });
    const setting = await sim.rancher('GET', '/v3/settings/server-version');
    assert.equal(setting.body.value, 'v2.12.3');
    assert.equal(setting.body.source, 'env');
    assert.equal(setting.body.default, 'dev');
    const steve = await sim.rancher('GET', '/v1/management.cattle.io.settings/server-version');
    assert.equal(steve.status, 200);
    assert.equal(steve.body.id, 'server-version');
    assert.equal(steve.body.type, 'management.cattle.io.setting');
    assert.equal(steve.body.value, 'v2.12.3');
    assert.equal((await sim.rancher('GET', '/v3/settings/k8s-version')).body.value, '');
    // Nothing writes the RKE1 version settings from 2.12 on (rancher-212.md §1.6).
    assert.equal((await sim.rancher('GET', '/v3/settings/k8s-versions-current')).body.value, '');
    assert.equal(
      (await sim.rancher('GET', '/v3/settings/rke2-default-version')).body.value,
      'v1.31.9+rke2r1',
    );
    assert.equal((await sim.rancher('GET', '/v3/settings/k3s-default-version')).body.value, 'v1.31.9+k3s1');
  });

  it('lists RKE2 and K3s releases unauthenticated, bounded to its own minor', async () => {
    for (const [distro, first] of [
      ['rke2', 'v1.31.9+rke2r1'],
      ['k3s', 'v1.31.9+k3s1'],
    ]) {
      const response = await fetch(`${sim.url}/v1-${distro}-release/releases`);
      assert.equal(response.status, 200);
      const body: any = await response.json();
      assert.equal(body.type, 'collection');
      assert.equal(body.resourceType, 'release');
      assert.equal(body.data[0].id, first);
      assert.equal(body.data[0].version, first);
      assert.equal(body.data[0].minChannelServerVersion, 'v2.12.0-alpha1');
      assert.equal(body.data[0].maxChannelServerVersion, 'v2.12.99');
      assert.equal(body.data.length, 3);
    }
  });

  it('has no node template, etcd backup or node template driver types', async () => {
    assert.deepEqual(sim.nodeTemplates, []);
    for (const segment of ['nodetemplates', 'nodeTemplate', 'etcdbackups']) {
      const response = await sim.rancher('GET', `/v3/${segment}`);
      assert.equal(response.status, 404, segment);
      assert.deepEqual(response.body, {
        baseType: 'error',
        type: 'error',
        status: 404,
        code: 'NotFound',
        message: `failed to find schema ${segment}`,
      });
    }
    // The machine-config type of the configured driver is there instead.
    const configs = await sim.rancher('GET', '/v1/rke-machine-config.cattle.io.openstackconfigs');
    assert.equal(configs.status, 200);
  });

  it('accepts an RKE1 cluster with 201 and never provisions it', async () => {
    const cluster = await createCluster(sim, 'legacy');
    assert.equal(cluster.driver, '');
    assert.ok(cluster.rancherKubernetesEngineConfig, 'the block is stored');
    assert.deepEqual(Object.keys(cluster.actions).sort(), ['generateKubeconfig', 'importYaml']);
    await waitForState(sim, `/v3/clusters/${cluster.id}`, 'pending');
    // The node pool store takes a pool without checking its template; no controller acts on it.
    await waitFor(async () => {
      const { body } = await sim.rancher('GET', `/v3/clusters/${cluster.id}`);
      return body.conditions.some((c: any) => c.type === 'InitialRolesPopulated' && c.status === 'True');
    });
    const pool = await sim.rancher('POST', '/v3/nodepools', {
      clusterId: cluster.id,
      nodeTemplateId: 'cattle-global-nt:nt-gone1',
      hostnamePrefix: 'legacy-',
      quantity: 1,
      etcd: true,
      controlPlane: true,
      worker: true,
    });
    assert.equal(pool.status, 201);
    const lists = await sim.rancher('GET', `/v3/nodepools?clusterId=${cluster.id}`);
    assert.equal(lists.body.data.length, 1);
    // Several times the whole fast provisioning script: still nothing.
    await sleep(
      QUICK.poolReconcileMs + QUICK.nodeProvisionMs + QUICK.nodeRegisterMs + QUICK.clusterProvisionMs * 3,
    );
    assert.equal((await sim.rancher('GET', `/v3/nodes?clusterId=${cluster.id}`)).body.data.length, 0);
    assert.equal((await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).body.state, 'pending');
    // Schema actions the 2.12 handler no longer implements answer 404 "not found".
    const exportYaml = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=exportYaml`);
    assert.equal(exportYaml.status, 404);
    assert.equal(exportYaml.body.message, 'not found');
    const unknown = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=fly`);
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.code, 'InvalidAction');
  });

  it('still lists management clusters (the c-m- twins) and registration tokens in /v3', async () => {
    const created = await createV2Cluster(sim, 'modern');
    const cluster = await waitForSteveState(sim, `${CLUSTERS_V1}/${created.id}`, 'active');
    const listed = await sim.rancher('GET', '/v3/clusters?name=modern');
    assert.equal(listed.body.data.length, 1);
    assert.equal(listed.body.data[0].id, cluster.status.clusterName);
    assert.equal(listed.body.data[0].state, 'active');
    const tokens = await sim.rancher(
      'GET',
      `/v3/clusterregistrationtokens?clusterId=${listed.body.data[0].id}`,
    );
    assert.deepEqual(
      tokens.body.data.map((t: any) => t.name),
      ['default-token'],
    );
  });
});

describe('a v2.15 simulator', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.15.0', timings: QUICK });
  });
  after(() => sim.close());

  it('drops the RKE block of a /v3 cluster and has no node pool schema', async () => {
    const cluster = await createCluster(sim, 'legacy');
    assert.equal(cluster.rancherKubernetesEngineConfig, undefined);
    assert.equal(cluster.driver, '');
    const pools = await sim.rancher('GET', '/v3/nodepools');
    assert.equal(pools.status, 404);
    assert.equal(pools.body.message, 'failed to find schema nodepools');
  });
});

describe('a v2.9 simulator', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.9.3', timings: QUICK, nodeTemplates: [TEMPLATE] });
  });
  after(() => sim.close());

  it('serves RKE1 /v3 and provisioning v2 side by side', async () => {
    assert.equal(sim.nodeTemplates.length, 1);
    assert.equal((await sim.rancher('GET', '/v3/nodetemplates')).body.data.length, 1);
    const rke1 = await createCluster(sim, 'old-style');
    assert.equal(rke1.driver, 'rancherKubernetesEngine');
    assert.equal(rke1.state, 'provisioning');
    const v2 = await createV2Cluster(sim, 'new-style');
    assert.equal(v2.id, 'fleet-default/new-style');
    const release = await fetch(`${sim.url}/v1-rke2-release/releases`);
    assert.equal(((await release.json()) as any).data[0].maxChannelServerVersion, 'v2.9.99');
  });

  it('lists its RKE1 versions in k8s-versions-current, the default first in k8s-version', async () => {
    const current = (await sim.rancher('GET', '/v3/settings/k8s-versions-current')).body.value;
    assert.equal(current, 'v1.31.9-rancher1-1,v1.30.14-rancher1-1,v1.32.5-rancher1-1');
    assert.equal((await sim.rancher('GET', '/v3/settings/k8s-version')).body.value, 'v1.31.9-rancher1-1');
  });
});

describe('--version', () => {
  it('refuses versions it does not simulate', async () => {
    for (const version of ['v2.5.9', 'v3.0.0', 'latest']) {
      await assert.rejects(startSimulator({ version }), /version/);
    }
  });
});
