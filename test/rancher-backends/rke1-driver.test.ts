/**
 * The RKE1 driver's domain operations against a running simulator: clusters, pools, nodes,
 * registration, etcd backups, and look-ups that do not trust server-side filters.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BackendError } from '../../src/rancher-backends/backend.errors';
import { PADDOCK_LABELS } from '../../src/rancher-backends/backend-driver';
import type {
  BackendDriver,
  NodePoolCreateSpec,
  RemoteNodePool,
} from '../../src/rancher-backends/backend-driver';
import {
  TestSimulator,
  all,
  callsOf,
  driverFor,
  rejection,
  startTestSimulator,
  waitFor,
} from '../support/simulator';

/**
 * A real HTTP pass-through in front of the simulator that drops the `name` and `clusterId`
 * filters, i.e. behaves like a Rancher whose schema lacks those filters (rancher-api.md §2.4).
 */
async function startFilterDroppingProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', target);
    url.searchParams.delete('name');
    url.searchParams.delete('clusterId');
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: url.pathname + url.search,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const labels = { [PADDOCK_LABELS.managed]: 'true', [PADDOCK_LABELS.clusterId]: 'pc-1' };

/** What a provisioning step does: retry the create while the permission window is open. */
async function createPoolAfterWindow(
  driver: BackendDriver,
  spec: NodePoolCreateSpec,
): Promise<RemoteNodePool> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await driver.createNodePool(spec);
    } catch (error) {
      if (!(error instanceof BackendError && error.kind === 'permission-window') || Date.now() > deadline)
        throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('rke1 driver', () => {
  let sim: TestSimulator;
  let driver: BackendDriver & { close(): void };
  let templateId: string;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    driver = driverFor(sim);
    templateId = sim.nodeTemplates[0].id;
  });
  after(async () => {
    driver.close();
    await sim.close();
  });

  test('finds a node template, and null for an unknown one', async () => {
    const template = await driver.findNodeTemplate(templateId);
    assert.ok(template);
    assert.equal(template.id, templateId);
    assert.equal(template.name, 'm1.large');
    assert.equal(await driver.findNodeTemplate('cattle-global-nt:nt-zzzzz'), null);
  });

  test('creates, finds, gets and deletes a cluster', async () => {
    const created = await driver.createCluster({ name: 'crud-one', kubernetesVersion: undefined, labels });
    assert.match(created.id, /^c-[a-z0-9]{5}$/);
    assert.equal(created.name, 'crud-one');
    assert.equal(created.state, 'provisioning', 'a real create answers provisioning, never active');
    assert.equal(created.removing, false);
    assert.deepEqual(created.labels, labels);
    assert.ok(created.conditions.some((c) => c.type === 'Provisioned'));

    const found = await driver.findClusterByName('crud-one');
    assert.equal(found?.id, created.id);
    const got = await driver.getCluster(created.id);
    assert.equal(got?.name, 'crud-one');

    await driver.deleteCluster(created.id);
    // Removing clusters are not "found": a new create of the name may go ahead.
    assert.equal(await driver.findClusterByName('crud-one'), null);
    await driver.deleteCluster(created.id); // idempotent while removing
    await waitFor(async () => (await driver.getCluster(created.id)) === null);
    await driver.deleteCluster(created.id); // idempotent when gone (404)
  });

  test('passes the requested Kubernetes version and reports it as plain semver', async () => {
    const listed = await sim.rancher('GET', '/v3/clusters?limit=1');
    assert.equal(listed.status, 200);
    const created = await driver.createCluster({
      name: 'versioned',
      kubernetesVersion: 'v1.30.14',
      labels: {},
    });
    assert.equal(created.kubernetesVersion, 'v1.30.14');
    const raw = await sim.rancher('GET', `/v3/clusters/${created.id}`);
    assert.equal(raw.body.rancherKubernetesEngineConfig.network.plugin, 'canal');
    assert.match(raw.body.rancherKubernetesEngineConfig.kubernetesVersion, /^v1\.30\.14/);
  });

  test('findClusterByName matches names exactly, case-insensitively, and nothing else', async () => {
    const alpha = await driver.createCluster({ name: 'alpha', labels: {} });
    await driver.createCluster({ name: 'alpha-2', labels: {} });
    await driver.createCluster({ name: 'alph', labels: {} });
    assert.equal((await driver.findClusterByName('alpha'))?.id, alpha.id);
    assert.equal(
      (await driver.findClusterByName('ALPHA'))?.id,
      alpha.id,
      'Rancher names are unique case-insensitively',
    );
    assert.equal(await driver.findClusterByName('alp'), null);
    assert.equal(await driver.findClusterByName('beta'), null);
  });

  test('look-ups stay correct when the server ignores the filters', async () => {
    const proxy = await startFilterDroppingProxy(sim.url);
    const unfiltered = driverFor({ url: proxy.url, token: sim.token });
    try {
      const gamma = await driver.createCluster({ name: 'gamma', labels: {} });
      const other = await driver.createCluster({ name: 'gamma-other', labels: {} });
      await createPoolAfterWindow(driver, {
        clusterId: other.id,
        hostnamePrefix: 'go-',
        quantity: 1,
        roles: { etcd: true, controlPlane: true, worker: true },
        nodeTemplateId: templateId,
        labels: {},
      });
      // The proxy really does drop the filters: the server answers with everything.
      const raw = await fetch(`${proxy.url}/v3/clusters?name=gamma`, {
        headers: { Authorization: `Bearer ${sim.token}`, Accept: 'application/json' },
      });
      const rawBody = (await raw.json()) as { data: unknown[] };
      assert.ok(rawBody.data.length > 1);

      assert.equal((await unfiltered.findClusterByName('gamma'))?.id, gamma.id);
      assert.equal((await unfiltered.findClusterByName('Gamma'))?.id, gamma.id);
      assert.equal(await unfiltered.findClusterByName('gamm'), null);
      assert.deepEqual(
        await unfiltered.listNodePools(gamma.id),
        [],
        'pools of another cluster must not leak in',
      );
      assert.equal((await unfiltered.listNodePools(other.id)).length, 1);
    } finally {
      unfiltered.close();
      await proxy.close();
    }
  });

  test('node pools: create (after the permission window), list, get, scale, delete', async () => {
    const cluster = await driver.createCluster({ name: 'pools', labels });
    const poolLabels = { ...labels, [PADDOCK_LABELS.poolId]: 'pp-1' };
    const spec = {
      clusterId: cluster.id,
      hostnamePrefix: 'pools-all-',
      quantity: 1,
      roles: { etcd: true, controlPlane: true, worker: true },
      nodeTemplateId: templateId,
      labels: poolLabels,
    };
    const pool = await createPoolAfterWindow(driver, spec);
    assert.equal(pool.id.startsWith(`${cluster.id}:np-`), true);
    assert.equal(pool.clusterId, cluster.id);
    assert.equal(pool.quantity, 1);
    assert.deepEqual(pool.roles, { etcd: true, controlPlane: true, worker: true });
    assert.equal(pool.nodeTemplateId, templateId);
    assert.deepEqual(pool.labels, poolLabels);

    const listed = await driver.listNodePools(cluster.id);
    assert.deepEqual(
      listed.map((p) => p.id),
      [pool.id],
    );
    assert.equal((await driver.getNodePool(pool.id))?.hostnamePrefix, 'pools-all-');

    const scaled = await driver.scaleNodePool(pool.id, 2);
    assert.equal(scaled.quantity, 2);
    const nodes = await waitFor(async () => {
      const inPool = (await all(driver.nodePages())).filter((n) => n.nodePoolId === pool.id);
      return inPool.length === 2 ? inPool : null;
    });
    assert.deepEqual(nodes.map((n) => n.hostname).sort(), ['pools-all-1', 'pools-all-2']);
    assert.ok(nodes.every((n) => n.clusterId === cluster.id && n.roles.worker));

    await driver.deleteNodePool(pool.id);
    await waitFor(async () => (await driver.getNodePool(pool.id)) === null);
    await driver.deleteNodePool(pool.id);
    assert.deepEqual(await driver.listNodePools(cluster.id), []);
  });

  test('auto-replace and node replacement: deleteNotReadyAfterSecs in seconds, DELETE /v3/nodes idempotent, the pool remakes the node', async () => {
    const cluster = await driver.createCluster({ name: 'replace', labels });
    const pool = await createPoolAfterWindow(driver, {
      clusterId: cluster.id,
      hostnamePrefix: 'replace-',
      quantity: 1,
      roles: { etcd: false, controlPlane: false, worker: true },
      nodeTemplateId: templateId,
      labels: {},
      autoReplaceSeconds: 300,
    });
    const remote = async () => (await sim.rancher('GET', `/v3/nodePools/${pool.id}`)).body;
    assert.equal((await remote()).deleteNotReadyAfterSecs, 300);
    await driver.setNodePoolAutoReplace(pool.id, 45);
    assert.equal((await remote()).deleteNotReadyAfterSecs, 45);
    await driver.setNodePoolAutoReplace(pool.id, null);
    assert.equal((await remote()).deleteNotReadyAfterSecs, 0);

    const inPool = async () => (await all(driver.nodePages())).filter((n) => n.nodePoolId === pool.id);
    const [node] = await waitFor(async () => ((await inPool()).length === 1 ? inPool() : null));
    await driver.deleteNode(node.id);
    await driver.deleteNode(node.id);
    const replaced = await waitFor(async () => {
      const nodes = await inPool();
      return nodes.length === 1 && nodes[0].id !== node.id ? nodes : null;
    });
    assert.equal(replaced[0].hostname === '' || replaced[0].hostname === 'replace-1', true);
    await driver.deleteNode(node.id);
  });

  test('a cluster with all roles becomes active', async () => {
    const cluster = await driver.createCluster({ name: 'full', labels });
    await createPoolAfterWindow(driver, {
      clusterId: cluster.id,
      hostnamePrefix: 'full-',
      quantity: 1,
      roles: { etcd: true, controlPlane: true, worker: true },
      nodeTemplateId: templateId,
      labels: {},
    });
    const active = await waitFor(
      async () => {
        const c = await driver.getCluster(cluster.id);
        return c?.state === 'active' ? c : null;
      },
      { timeoutMs: 15_000 },
    );
    assert.equal(active.transitioning, 'no');
    assert.equal(active.nodeCount, 1);
  });

  test('creates are validated by the server: invalid errors carry the field', async () => {
    const badName = await rejection(() => driver.createCluster({ name: 'Not_A_Label', labels: {} }));
    assert.equal(badName.kind, 'invalid');
    assert.equal(badName.retryable, false);
    assert.equal(badName.status, 422);
    assert.equal(badName.fieldName, 'name');

    await driver.createCluster({ name: 'dupe', labels: {} });
    const dupe = await rejection(() => driver.createCluster({ name: 'dupe', labels: {} }));
    assert.equal(dupe.kind, 'invalid');
    assert.equal(dupe.rancherCode, 'NotUnique');
    assert.equal(dupe.fieldName, 'Cluster name');

    const badVersion = await rejection(() =>
      driver.createCluster({ name: 'old-k8s', kubernetesVersion: 'v1.2.3', labels: {} }),
    );
    assert.equal(badVersion.status, 500);
    assert.equal(
      badVersion.kind,
      'invalid',
      'an unsupported version is permanent even though Rancher says 500',
    );
    assert.equal(badVersion.retryable, false);

    const cluster = await driver.createCluster({ name: 'no-template', labels: {} });
    await sim.clearCalls();
    let attempts = 0;
    const noTemplate = await waitFor(async () => {
      attempts++;
      const error = await rejection(() =>
        driver.createNodePool({
          clusterId: cluster.id,
          hostnamePrefix: 'nt-',
          quantity: 1,
          roles: { etcd: true, controlPlane: true, worker: true },
          nodeTemplateId: 'cattle-global-nt:nt-zzzzz',
          labels: {},
        }),
      );
      // The permission window of the fresh cluster may answer first; wait it out.
      return error.kind === 'permission-window' ? null : error;
    });
    assert.equal(noTemplate.kind, 'invalid');
    assert.equal(noTemplate.retryable, false);
    assert.equal(noTemplate.fieldName, 'nodeTemplateId');
    assert.equal(
      callsOf(await sim.calls(), 'POST', /^\/v3\/nodepools$/).length,
      attempts,
      'creates are never retried',
    );
  });

  test('getCluster treats 404 as gone', async () => {
    assert.equal(await driver.getCluster('c-zzzzz'), null);
    assert.equal(await driver.getNodePool('c-zzzzz:np-zzzzz'), null);
  });
});
