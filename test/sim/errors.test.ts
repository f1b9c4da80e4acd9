/** Error envelopes (§2.6), actions (§2.7) and update semantics (§2.9). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';
import { createCluster, createPool, QUICK, TEMPLATE, templateId } from './fixtures';

describe('validation errors and update semantics', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ timings: QUICK, nodeTemplates: [TEMPLATE] });
  });
  after(() => sim.close());

  it('requires a cluster name', async () => {
    const { status, body } = await sim.rancher('POST', '/v3/clusters', { rancherKubernetesEngineConfig: {} });
    assert.equal(status, 422);
    assert.deepEqual(body, {
      baseType: 'error',
      type: 'error',
      status: 422,
      code: 'MissingRequired',
      fieldName: 'Cluster name',
      message: '',
    });
  });

  it('rejects a name that is not a DNS label with a wrapped InvalidFormat', async () => {
    const { status, body } = await sim.rancher('POST', '/v3/clusters', { name: 'Foo 2' });
    assert.equal(status, 422);
    assert.equal(body.code, 'InvalidFormat');
    assert.equal(body.fieldName, 'name');
    assert.match(body.message, /^InvalidFormat 422: invalid value Foo 2: a DNS-1123 label must consist of/);
  });

  it('enforces case-insensitive uniqueness, ignoring clusters being removed', async () => {
    const first = await createCluster(sim, 'unique-a');
    const clash = await sim.rancher('POST', '/v3/clusters', { name: 'UNIQUE-A' });
    // The upper-case name is not a DNS label; lower-case duplicates are what uniqueness is about.
    assert.equal(clash.body.code, 'InvalidFormat');
    const duplicate = await sim.rancher('POST', '/v3/clusters', { name: 'unique-a' });
    assert.equal(duplicate.status, 422);
    assert.deepEqual(duplicate.body, {
      baseType: 'error',
      type: 'error',
      status: 422,
      code: 'NotUnique',
      fieldName: 'Cluster name',
      message: '',
    });
    assert.equal((await sim.rancher('DELETE', `/v3/clusters/${first.id}`)).status, 200);
    assert.equal((await sim.rancher('POST', '/v3/clusters', { name: 'unique-a' })).status, 201);
  });

  it('answers the k8s-style 404 for unknown ids', async () => {
    const { status, body } = await sim.rancher('GET', '/v3/clusters/c-nope0');
    assert.equal(status, 404);
    assert.deepEqual(body, {
      baseType: 'error',
      type: 'error',
      status: 404,
      code: 'NotFound',
      message: 'clusters.management.cattle.io "c-nope0" not found',
    });
    const pool = await sim.rancher('GET', '/v3/nodePools/c-nope0:np-nope0');
    assert.equal(pool.body.message, 'nodepools.management.cattle.io "np-nope0" not found');
    assert.equal((await sim.rancher('DELETE', '/v3/nodes/c-nope0:m-nope0')).status, 404);
    assert.equal((await sim.rancher('PUT', '/v3/clusters/c-nope0', { name: 'x' })).status, 404);
  });

  it('answers 405 MethodNotAllow for unsupported methods', async () => {
    for (const [method, path] of [
      ['PATCH', '/v3/clusters'],
      ['DELETE', '/v3/clusters'],
      ['PUT', '/v3/clusters'],
      ['POST', '/v3/nodes'],
      ['PUT', '/v3/settings/server-version'],
    ]) {
      const { status, body } = await sim.rancher(method, path, method === 'DELETE' ? undefined : {});
      assert.equal(status, 405, `${method} ${path}`);
      assert.equal(body.code, 'MethodNotAllow', `${method} ${path}`);
    }
  });

  it('answers 422 InvalidBodyContent for unparseable JSON', async () => {
    const { status, body } = await sim.rancher('POST', '/v3/clusters', '{"name": ');
    assert.equal(status, 422);
    assert.equal(body.code, 'InvalidBodyContent');
    assert.match(body.message, /^Failed to parse body: /);
  });

  it('validates node pool references and required fields', async () => {
    const cluster = await createCluster(sim, 'pool-errors');
    for (const field of ['clusterId', 'nodeTemplateId', 'hostnamePrefix']) {
      const body: Record<string, unknown> = {
        clusterId: cluster.id,
        nodeTemplateId: templateId(sim),
        hostnamePrefix: 'x-',
      };
      delete body[field];
      const response = await sim.rancher('POST', '/v3/nodepools', body);
      assert.equal(response.status, 422, field);
      assert.equal(response.body.code, 'MissingRequired', field);
      assert.equal(response.body.fieldName, field);
    }
    const badCluster = await sim.rancher('POST', '/v3/nodepools', {
      clusterId: 'c-nope',
      nodeTemplateId: templateId(sim),
      hostnamePrefix: 'x-',
    });
    assert.deepEqual(badCluster.body, {
      baseType: 'error',
      type: 'error',
      status: 422,
      code: 'InvalidFormat',
      fieldName: 'clusterId',
      message: 'InvalidReference 422: Not found type: cluster id: c-nope',
    });
    const badTemplate = await sim.rancher('POST', '/v3/nodepools', {
      clusterId: cluster.id,
      nodeTemplateId: 'cattle-global-nt:nt-nope0',
      hostnamePrefix: 'x-',
    });
    assert.equal(badTemplate.body.fieldName, 'nodeTemplateId');
    assert.equal(
      badTemplate.body.message,
      'InvalidReference 422: Not found type: nodeTemplate id: cattle-global-nt:nt-nope0',
    );
  });

  it('rejects unknown and unavailable actions with InvalidAction, unknown ids with 404', async () => {
    const cluster = await createCluster(sim, 'actions');
    const unknown = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=explode`);
    assert.equal(unknown.status, 422);
    assert.deepEqual(unknown.body, {
      baseType: 'error',
      type: 'error',
      status: 422,
      code: 'InvalidAction',
      message: 'Invalid action: explode',
    });
    // rotateEncryptionKey exists in the schema but is only offered with encryption enabled.
    const unavailable = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=rotateEncryptionKey`);
    assert.equal(unavailable.status, 422);
    assert.equal(unavailable.body.message, 'Invalid action: rotateEncryptionKey');
    const missing = await sim.rancher('POST', '/v3/clusters/c-nope0?action=generateKubeconfig');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NotFound');
  });

  it('merges PUT bodies, drops unknown and noupdate fields, protects cattle.io labels', async () => {
    const cluster = await createCluster(sim, 'merge-me', {
      description: 'before',
      labels: { team: 'a', 'cattle.io/creator': 'norman' },
    });
    const { status, body } = await sim.rancher('PUT', `/v3/clusters/${cluster.id}`, {
      name: 'merge-me',
      rancherKubernetesEngineConfig: { services: { etcd: { backupConfig: { retention: 9 } } } },
      labels: { team: 'b', 'cattle.io/creator': 'me', 'management.cattle.io/x': 'y' },
      driver: 'imported',
      bogus: true,
    });
    assert.equal(status, 200);
    assert.equal(body.description, 'before', 'untouched fields survive a merge PUT');
    assert.deepEqual(body.rancherKubernetesEngineConfig.services.etcd.backupConfig, {
      enabled: true,
      intervalHours: 12,
      retention: 9,
    });
    assert.equal(body.rancherKubernetesEngineConfig.network.plugin, 'canal');
    assert.deepEqual(body.labels, { team: 'b', 'cattle.io/creator': 'norman' });
    assert.equal(body.driver, 'rancherKubernetesEngine', 'read-only fields are ignored');
    assert.equal(body.bogus, undefined);
    assert.equal(body.resourceVersion, undefined);

    const withoutLabels = await sim.rancher('PUT', `/v3/clusters/${cluster.id}`, { name: 'merge-me' });
    assert.deepEqual(withoutLabels.body.labels, { team: 'b', 'cattle.io/creator': 'norman' });
  });

  it('replaces updatable fields with _replace=true', async () => {
    const cluster = await createCluster(sim, 'replace-me', { description: 'gone soon' });
    const { body } = await sim.rancher('PUT', `/v3/clusters/${cluster.id}?_replace=true`, {
      name: 'replace-me',
      rancherKubernetesEngineConfig: { kubernetesVersion: 'v1.30.14-rancher1-1' },
    });
    assert.equal(body.description, undefined);
    assert.deepEqual(body.rancherKubernetesEngineConfig, { kubernetesVersion: 'v1.30.14-rancher1-1' });
    assert.equal(body.actions.backupEtcd, undefined, 'no backupConfig left, no backupEtcd');
  });

  it('requires name on cluster PUT', async () => {
    const cluster = await createCluster(sim, 'put-name');
    const { status, body } = await sim.rancher('PUT', `/v3/clusters/${cluster.id}`, { description: 'x' });
    assert.equal(status, 422);
    assert.equal(body.code, 'MissingRequired');
    assert.equal(body.fieldName, 'Cluster name');
  });

  it('scales a pool with a partial PUT and ignores a clusterId change', async () => {
    const cluster = await createCluster(sim, 'partial-put');
    const pool = await createPool(sim, cluster.id, { quantity: 1, worker: true });
    const { body } = await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, {
      quantity: 3,
      clusterId: 'c-other',
    });
    assert.equal(body.quantity, 3);
    assert.equal(body.clusterId, cluster.id);
    assert.equal(body.hostnamePrefix, 'n-');
    assert.equal(body.worker, true);
  });
});
