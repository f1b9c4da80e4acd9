/** Cluster create defaults, the provisioning script, updates, deletes and kubeconfigs (§3, §11.3, §11.9). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startTestSimulator,
  waitFor,
  waitForGone,
  waitForState,
  type TestSimulator,
} from '../support/simulator';
import { startTestS3 } from '../support/s3';
import { createActiveCluster, createCluster, createPool, listNodes, QUICK, TEMPLATE } from './fixtures';

/** Records every distinct state `path` passes through until it reaches `final`. */
async function statesUntil(sim: TestSimulator, path: string, final: string): Promise<string[]> {
  const states: string[] = [];
  await waitFor(
    async () => {
      const { body } = await sim.rancher('GET', path);
      if (states[states.length - 1] !== body.state) states.push(body.state);
      return body.state === final;
    },
    { intervalMs: 5, what: () => `${path} to reach ${final} (saw ${states.join(' → ')})` },
  );
  return states;
}

describe('cluster lifecycle', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({
      timings: { ...QUICK, permissionWindowMs: 300, clusterConnectMs: 150, clusterUpdateMs: 150 },
      nodeTemplates: [TEMPLATE],
      kubernetesVersions: ['v1.31.9-rancher1-1', 'v1.30.14-rancher1-1', 'v1.30.14-rancher1-2'],
    });
  });
  after(() => sim.close());

  it('creates a provisioning cluster with Rancher defaults', async () => {
    const { status, body } = await sim.rancher('POST', '/v3/clusters', {
      name: 'defaults',
      rancherKubernetesEngineConfig: {},
    });
    assert.equal(status, 201);
    assert.equal(body.state, 'provisioning');
    assert.equal(body.transitioning, 'yes');
    assert.equal(
      body.transitioningMessage,
      'waiting for etcd, controlplane and worker nodes to be registered',
    );
    assert.deepEqual(
      body.conditions.map((c: any) => [c.type, c.status]),
      [
        ['Pending', 'True'],
        ['Provisioned', 'Unknown'],
        ['Waiting', 'Unknown'],
      ],
    );
    assert.equal(body.driver, 'rancherKubernetesEngine');
    const rke = body.rancherKubernetesEngineConfig;
    assert.equal(rke.kubernetesVersion, 'v1.31.9-rancher1-1');
    assert.deepEqual(rke.services.etcd.backupConfig, { enabled: true, intervalHours: 12, retention: 6 });
    assert.equal(body.nodeCount, 0);
    assert.deepEqual(body.capacity, {});
  });

  it('normalizes plain semver and rejects unsupported versions with a 500', async () => {
    const plain = await createCluster(sim, 'semver', {
      rancherKubernetesEngineConfig: { kubernetesVersion: 'v1.30.14' },
    });
    assert.equal(plain.rancherKubernetesEngineConfig.kubernetesVersion, 'v1.30.14-rancher1-2');
    const unsupported = await sim.rancher('POST', '/v3/clusters', {
      name: 'too-old',
      rancherKubernetesEngineConfig: { kubernetesVersion: 'v1.27.16' },
    });
    assert.equal(unsupported.status, 500);
    assert.deepEqual(unsupported.body, {
      baseType: 'error',
      type: 'error',
      status: 500,
      code: 'ServerError',
      message: 'Requested kubernetesVersion v1.27.16 is not supported currently',
    });
    assert.equal((await sim.rancher('GET', '/v3/clusters?name=too-old')).body.data.length, 0);
  });

  it('refuses node pools with 403 during the permission window, then accepts them', async () => {
    const cluster = await createCluster(sim, 'window');
    const early = await sim.rancher('POST', '/v3/nodepools', {
      clusterId: cluster.id,
      nodeTemplateId: sim.nodeTemplates[0].id,
      hostnamePrefix: 'w-',
    });
    assert.equal(early.status, 403);
    assert.equal(early.body.baseType, 'error');
    assert.equal(early.body.code, 'Forbidden');
    assert.equal(early.body.status, 403);
    assert.match(
      early.body.message,
      new RegExp(
        `^nodepools\\.management\\.cattle\\.io is forbidden: User "u-[a-z0-9]{5}" cannot create resource "nodepools" ` +
          `in API group "management\\.cattle\\.io" in the namespace "${cluster.id}"$`,
      ),
    );
    assert.equal((await sim.rancher('GET', `/v3/nodepools?clusterId=${cluster.id}`)).body.data.length, 0);
    assert.equal((await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).status, 200, 'the cluster stays');
    const populated = await waitFor(async () => {
      const { body } = await sim.rancher('GET', `/v3/clusters/${cluster.id}`);
      return body.conditions.find((c: any) => c.type === 'InitialRolesPopulated' && c.status === 'True');
    });
    assert.ok(populated);
    const later = await sim.rancher('POST', '/v3/nodepools', {
      clusterId: cluster.id,
      nodeTemplateId: sim.nodeTemplates[0].id,
      hostnamePrefix: 'w-',
    });
    assert.equal(later.status, 201);
  });

  it('stays provisioning until active nodes cover all roles, then goes waiting → active', async () => {
    const cluster = await createCluster(sim, 'roles');
    await createPool(sim, cluster.id, { hostnamePrefix: 'roles-w-', quantity: 2, worker: true });
    await waitFor(async () => {
      const nodes = await listNodes(sim, `clusterId=${cluster.id}`);
      return nodes.length === 2 && nodes.every((n) => n.state === 'active');
    });
    await sleep(150);
    const stuck = (await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).body;
    assert.equal(stuck.state, 'provisioning', 'workers alone do not let RKE run');
    assert.equal(stuck.nodeCount, 2);

    await createPool(sim, cluster.id, {
      hostnamePrefix: 'roles-cp-',
      quantity: 1,
      etcd: true,
      controlPlane: true,
    });
    const states = await statesUntil(sim, `/v3/clusters/${cluster.id}`, 'active');
    assert.deepEqual(states, ['provisioning', 'waiting', 'active']);
    const active = (await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).body;
    assert.equal(active.transitioning, 'no');
    for (const type of ['Provisioned', 'Waiting', 'Ready', 'Updated', 'Connected', 'InitialRolesPopulated']) {
      assert.equal(active.conditions.find((c: any) => c.type === type)?.status, 'True', type);
    }
    assert.equal(active.nodeCount, 3);
    assert.deepEqual(active.capacity, { cpu: '12', memory: '49141920Ki', pods: '330' });
    assert.equal(active.version.gitVersion, 'v1.31.9');
    assert.match(active.apiEndpoint, /^https:\/\/10\.\d+\.\d+\.\d+:6443$/);
  });

  it('goes updating → active when the RKE config changes, not on other edits', async () => {
    const { cluster } = await createActiveCluster(sim, 'upgrade');
    const path = `/v3/clusters/${cluster.id}`;
    const described = await sim.rancher('PUT', path, { name: 'upgrade', description: 'just words' });
    assert.equal(described.body.state, 'active');

    const rke = { ...cluster.rancherKubernetesEngineConfig, kubernetesVersion: 'v1.30.14' };
    const updated = await sim.rancher('PUT', path, { name: 'upgrade', rancherKubernetesEngineConfig: rke });
    assert.equal(updated.status, 200);
    assert.equal(updated.body.state, 'updating');
    assert.equal(updated.body.transitioning, 'yes');
    assert.equal(updated.body.rancherKubernetesEngineConfig.kubernetesVersion, 'v1.30.14-rancher1-2');
    const done = await waitForState(sim, path, 'active');
    assert.equal(done.version.gitVersion, 'v1.30.14');
    assert.equal(done.conditions.find((c: any) => c.type === 'Updated').status, 'True');
  });

  it('shows an injected provisioning failure as transitioning error and recovers when cleared', async () => {
    const cluster = await createCluster(sim, 'broken');
    const injected = await sim.setCondition({
      type: 'cluster',
      id: cluster.id,
      condition: { type: 'Provisioned', status: 'False', message: 'Failed to reconcile etcd plane' },
    });
    assert.equal(injected.state, 'provisioning');
    assert.equal(injected.transitioning, 'error');
    assert.equal(injected.transitioningMessage, 'Failed to reconcile etcd plane');

    await createPool(sim, cluster.id, {
      hostnamePrefix: 'broken-',
      etcd: true,
      controlPlane: true,
      worker: true,
    });
    await waitFor(async () =>
      (await listNodes(sim, `clusterId=${cluster.id}`)).some((n) => n.state === 'active'),
    );
    await sleep(150);
    const still = (await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).body;
    assert.equal(still.state, 'provisioning');
    assert.equal(still.transitioning, 'error');

    await sim.setCondition({
      type: 'cluster',
      id: cluster.id,
      condition: { type: 'Provisioned', status: 'Unknown' },
    });
    await waitForState(sim, `/v3/clusters/${cluster.id}`, 'active');
  });

  it('deletes through removing, taking pools, nodes, tokens and backups with it', async () => {
    const { cluster, pool } = await createActiveCluster(sim, 'doomed', 2);
    const token = await sim.rancher('POST', '/v3/clusterregistrationtokens', {
      clusterId: cluster.id,
      name: 'default-token',
    });
    const backup = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=backupEtcd`);
    assert.equal(token.status, 201);
    assert.equal(backup.status, 200);
    const nodes = await listNodes(sim, `clusterId=${cluster.id}`);
    assert.equal(nodes.length, 2);

    const deleted = await sim.rancher('DELETE', `/v3/clusters/${cluster.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.state, 'removing');
    assert.equal(deleted.body.transitioning, 'yes');
    assert.match(deleted.body.removed, /Z$/);
    assert.equal(deleted.body.removedTS, Date.parse(deleted.body.removed));
    assert.equal((await sim.rancher('GET', `/v3/nodePools/${pool.id}`)).body.state, 'removing');
    assert.equal(
      (await sim.rancher('DELETE', `/v3/clusters/${cluster.id}`)).status,
      200,
      'delete again while removing',
    );

    await waitForGone(sim, `/v3/clusters/${cluster.id}`);
    assert.equal((await sim.rancher('GET', `/v3/nodePools/${pool.id}`)).status, 404);
    for (const node of nodes) assert.equal((await sim.rancher('GET', `/v3/nodes/${node.id}`)).status, 404);
    assert.equal((await sim.rancher('GET', `/v3/clusterRegistrationTokens/${token.body.id}`)).status, 404);
    const backups = await sim.rancher('GET', `/v3/etcdbackups?clusterId=${cluster.id}`);
    assert.equal(backups.body.data.length, 0);
    assert.equal((await sim.rancher('DELETE', `/v3/clusters/${cluster.id}`)).status, 404);
    await sleep(100);
    assert.equal((await listNodes(sim, `clusterId=${cluster.id}`)).length, 0, 'no node is recreated');
  });

  it('generates a kubeconfig with a fresh token on every call', async () => {
    const cluster = await createCluster(sim, 'kube');
    const call = () => sim.rancher('POST', `/v3/clusters/${cluster.id}?action=generateKubeconfig`);
    const first = await call();
    const second = await call();
    assert.equal(first.status, 200);
    assert.equal(first.body.type, 'generateKubeconfigOutput');
    const config: string = first.body.config;
    assert.match(config, /^apiVersion: v1\nkind: Config\n/);
    assert.ok(config.includes(`server: "${sim.url}/k8s/clusters/${cluster.id}"`));
    const token = /token: "([^"]+)"/.exec(config)?.[1];
    const other = /token: "([^"]+)"/.exec(second.body.config)?.[1];
    assert.match(
      token ?? '',
      /^kubeconfig-u-[a-z0-9]{5}[bcdfghjklmnpqrstvwxz2456789]{5}:[bcdfghjklmnpqrstvwxz2456789]{54}$/,
    );
    assert.notEqual(token, other);
    const viaKubeconfigToken = await fetch(`${sim.url}/v3/clusters/${cluster.id}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(viaKubeconfigToken.status, 200);
  });

  it('never echoes the S3 secret key, and checks the bucket with the keys on create and update', async () => {
    const store = await startTestS3();
    after(() => store.close());
    await store.ensureBucket('b-s3-secret');
    const s3 = {
      accessKey: store.accessKeyId,
      secretKey: store.secretAccessKey,
      bucketName: 'b-s3-secret',
      endpoint: store.endpoint,
      folder: 'f',
    };
    const created = await sim.rancher('POST', '/v3/clusters', {
      name: 's3-secret',
      rancherKubernetesEngineConfig: {
        services: { etcd: { backupConfig: { enabled: true, s3BackupConfig: s3 } } },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const echoed = created.body.rancherKubernetesEngineConfig.services.etcd.backupConfig.s3BackupConfig;
    assert.equal(echoed.secretKey, '');
    assert.equal(echoed.accessKey, store.accessKeyId);
    assert.equal(
      created.body.clusterSecrets.s3CredentialSecret,
      `cattle-global-data:cluster-s3backup-${created.body.id}`,
    );
    const read = await sim.rancher('GET', `/v3/clusters/${created.body.id}`);
    assert.ok(!JSON.stringify(read.body).includes(store.secretAccessKey));
    const list = await sim.rancher('GET', '/v3/clusters?name=s3-secret');
    assert.ok(!JSON.stringify(list.body).includes(store.secretAccessKey));
    const put = (s3BackupConfig: Record<string, string>) =>
      sim.rancher('PUT', `/v3/clusters/${created.body.id}`, {
        name: 's3-secret',
        rancherKubernetesEngineConfig: { services: { etcd: { backupConfig: { s3BackupConfig } } } },
      });
    const updated = await put({ secretKey: store.secretAccessKey });
    assert.equal(updated.status, 200);
    assert.ok(!JSON.stringify(updated.body).includes(store.secretAccessKey));
    const refused = await put({ accessKey: 'not-a-key-of-this-store' });
    assert.equal(refused.status, 500);
    // A HEAD answer carries no error body: the key id's refusal reads as access denied.
    assert.equal(refused.body.message, 'Unable to validate S3 backup target configuration: Access Denied.');
    const missing = await put({ bucketName: 'no-such-bucket' });
    assert.equal(missing.status, 500);
    assert.equal(
      missing.body.message,
      'Unable to validate S3 backup target configuration: bucket [no-such-bucket] not found',
    );
  });

  it('exports YAML with the cluster spec and its pools', async () => {
    const { cluster } = await createActiveCluster(sim, 'exported');
    const { status, body } = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=exportYaml`);
    assert.equal(status, 200);
    assert.match(body.yamlOutput, /^clusters:\n {2}exported:\n/);
    assert.match(body.yamlOutput, /nodePools:\n/);
    assert.match(body.yamlOutput, /hostnamePrefix: "exported-"/);
  });

  it('rotates certificates through updating', async () => {
    const { cluster } = await createActiveCluster(sim, 'rotate');
    const { status, body } = await sim.rancher(
      'POST',
      `/v3/clusters/${cluster.id}?action=rotateCertificates`,
      {
        caCertificates: false,
        services: 'etcd',
      },
    );
    assert.equal(status, 200);
    assert.deepEqual(body, { type: 'rotateCertificateOutput', message: 'rotating [etcd] certificates' });
    assert.equal((await sim.rancher('GET', `/v3/clusters/${cluster.id}`)).body.state, 'updating');
    await waitForState(sim, `/v3/clusters/${cluster.id}`, 'active');
  });
});
