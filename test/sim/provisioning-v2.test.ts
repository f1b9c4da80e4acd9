/** Steve `/v1` envelopes, machine configs and provisioning v2 clusters (rancher-api.md §9, §11.6). */
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
import {
  CLUSTERS_V1,
  createMachineConfig,
  createV2Cluster,
  OPENSTACK_CONFIGS,
  QUICK,
  steveStatesUntil,
  v2ClusterBody,
} from './fixtures';

const ADMISSION =
  'admission webhook "rancher.cattle.io.clusters.provisioning.cattle.io" denied the request: ';

describe('provisioning v2 over steve /v1', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({
      version: 'v2.12.3',
      timings: { ...QUICK, clusterProvisionMs: 150, clusterConnectMs: 150, clusterDeleteMs: 150 },
    });
  });
  after(() => sim.close());

  it('creates a machine config from generateName with the driver fields at top level', async () => {
    const config = await createMachineConfig(sim, 'nc-prod-a-pool1-');
    assert.match(config.metadata.name, /^nc-prod-a-pool1-[a-z0-9]{5}$/);
    assert.equal(config.id, `fleet-default/${config.metadata.name}`);
    assert.equal(config.type, 'rke-machine-config.cattle.io.openstackconfig');
    assert.equal(config.apiVersion, 'rke-machine-config.cattle.io/v1');
    assert.equal(config.kind, 'OpenstackConfig');
    assert.equal(config.flavorName, 'm1.large');
    assert.equal(config.spec, undefined);
    assert.equal(config.metadata.generateName, 'nc-prod-a-pool1-');
    assert.match(config.metadata.resourceVersion, /^\d+$/);
    assert.deepEqual(config.metadata.state, {
      name: 'active',
      error: false,
      transitioning: false,
      message: '',
    });
    assert.equal(config.links.self, `${sim.url}${OPENSTACK_CONFIGS}/${config.id}`);
    assert.equal(
      config.links.view,
      `${sim.url}/apis/rke-machine-config.cattle.io/v1/namespaces/fleet-default/openstackconfigs/${config.metadata.name}`,
    );
    // The singular schema id finds the same object.
    const got = await sim.rancher('GET', `/v1/rke-machine-config.cattle.io.openstackconfig/${config.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.flavorName, 'm1.large');
  });

  it('refuses an object without a namespace, and answers unknown types and names with 404', async () => {
    const noNamespace = await sim.rancher('POST', OPENSTACK_CONFIGS, { metadata: { generateName: 'nc-' } });
    assert.equal(noNamespace.status, 422);
    assert.deepEqual(noNamespace.body, {
      type: 'error',
      links: {},
      code: 'InvalidBodyContent',
      message: 'metadata.namespace is required',
      status: 422,
    });
    const missing = await sim.rancher('GET', `${CLUSTERS_V1}/fleet-default/nope`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NotFound');
    assert.equal(missing.body.message, 'clusters.provisioning.cattle.io "nope" not found');
    const unknownType = await sim.rancher('GET', '/v1/rke-machine-config.cattle.io.nosuchdriverconfigs');
    assert.equal(unknownType.status, 404);
    assert.equal(unknownType.body.type, 'error');
  });

  it('takes a cluster through provisioning and waiting to active, with its c-m- twin', async () => {
    const created = await createV2Cluster(sim, 'prod-a', [['pool1', 2, ['etcd', 'controlPlane', 'worker']]]);
    assert.equal(created.id, 'fleet-default/prod-a');
    assert.equal(created.type, 'provisioning.cattle.io.cluster');
    assert.equal(created.kind, 'Cluster');
    assert.equal(created.metadata.generation, 1);
    assert.match(created.metadata.annotations['field.cattle.io/creatorId'], /^u-[a-z0-9]{5}$/);
    assert.equal(created.metadata.state.name, 'provisioning');
    assert.equal(created.metadata.state.transitioning, true);

    const path = `${CLUSTERS_V1}/fleet-default/prod-a`;
    const states = await steveStatesUntil(sim, path, 'active');
    assert.deepEqual(states, ['provisioning', 'waiting', 'active']);

    const { body } = await sim.rancher('GET', path);
    assert.match(body.status.clusterName, /^c-m-[a-z0-9]{8}$/);
    assert.equal(body.status.ready, true);
    assert.equal(body.status.clientSecretName, 'prod-a-kubeconfig');
    assert.equal(body.status.fleetWorkspaceName, 'fleet-default');
    assert.equal(body.status.observedGeneration, 1);
    const conditions = Object.fromEntries(body.status.conditions.map((c: any) => [c.type, c.status]));
    for (const type of ['Created', 'Provisioned', 'Updated', 'Ready'])
      assert.equal(conditions[type], 'True', type);
    assert.ok(Number(body.metadata.resourceVersion) > Number(created.metadata.resourceVersion));

    const twin = await waitForState(sim, `/v3/clusters/${body.status.clusterName}`, 'active');
    assert.equal(twin.name, 'prod-a');
    assert.equal(twin.driver, 'rke2');
    assert.equal(twin.version.gitVersion, 'v1.31.9+rke2r1');
    assert.deepEqual(Object.keys(twin.actions).sort(), ['generateKubeconfig', 'importYaml']);
    const listed = await sim.rancher('GET', '/v3/clusters');
    assert.ok(listed.body.data.some((cluster: any) => cluster.id === body.status.clusterName));

    // The existing kubeconfig action and per-cluster proxy work through the twin.
    const kubeconfig = await sim.rancher('POST', `/v3/clusters/${twin.id}?action=generateKubeconfig`);
    assert.equal(kubeconfig.status, 200);
    assert.match(kubeconfig.body.config, new RegExp(`/k8s/clusters/${twin.id}`));
    const version = await sim.rancher('GET', `/k8s/clusters/${twin.id}/version`);
    assert.equal(version.status, 200);
    assert.equal(version.body.gitVersion, 'v1.31.9+rke2r1');
  });

  it('gives a K3s version a k3s twin', async () => {
    const created = await createV2Cluster(sim, 'edge-k3s', undefined, 'v1.31.9+k3s1');
    const cluster = await waitFor(async () => {
      const { body } = await sim.rancher('GET', `${CLUSTERS_V1}/${created.id}`);
      return body.status?.clusterName ? body : undefined;
    });
    const twin = await sim.rancher('GET', `/v3/clusters/${cluster.status.clusterName}`);
    assert.equal(twin.body.driver, 'k3s');
  });

  it('refuses names the webhook forbids with 422 Invalid and the admission prefix', async () => {
    const config = await createMachineConfig(sim, 'nc-names-');
    for (const name of ['local', 'c-abcde', 'a'.repeat(64), 'a.b', 'x']) {
      const response = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody(name, config.metadata.name));
      assert.equal(response.status, 422, name);
      assert.equal(response.body.code, 'Invalid', name);
      assert.ok(response.body.message.startsWith(ADMISSION), response.body.message);
      assert.match(response.body.message, /cluster name must be 63 characters or fewer/);
    }
    const body = v2ClusterBody('long-pool', config.metadata.name, [['p'.repeat(64), 1, ['worker']]]);
    const longPool = await sim.rancher('POST', CLUSTERS_V1, body);
    assert.equal(longPool.status, 422);
    assert.equal(longPool.body.message, `${ADMISSION}pool name must be 63 characters or fewer`);
    // Not a DNS subdomain at all: the apiserver's own validation answers before the webhook.
    const upper = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('Bad_Name', config.metadata.name));
    assert.equal(upper.status, 422);
    assert.equal(upper.body.code, 'Invalid');
    assert.match(
      upper.body.message,
      /^Cluster\.provisioning\.cattle\.io "Bad_Name" is invalid: metadata\.name/,
    );
    const none = await sim.rancher('GET', CLUSTERS_V1);
    assert.ok(!none.body.data.some((c: any) => ['local', 'Bad_Name', 'x'].includes(c.metadata.name)));
  });

  it('answers a duplicate name with 409 AlreadyExists', async () => {
    const config = await createMachineConfig(sim, 'nc-dup-');
    assert.equal(
      (await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('dup', config.metadata.name))).status,
      201,
    );
    const again = await sim.rancher('POST', CLUSTERS_V1, v2ClusterBody('dup', config.metadata.name));
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      type: 'error',
      links: {},
      code: 'AlreadyExists',
      message: 'clusters.provisioning.cattle.io "dup" already exists',
      status: 409,
    });
  });

  it('needs the current resourceVersion on PUT and none on a merge PATCH', async () => {
    await createV2Cluster(sim, 'rv');
    const path = `${CLUSTERS_V1}/fleet-default/rv`;
    const current = await waitForSteveState(sim, path, 'active');

    const withoutVersion = structuredClone(current);
    delete withoutVersion.metadata.resourceVersion;
    const missing = await sim.rancher('PUT', path, withoutVersion);
    assert.equal(missing.status, 500);
    assert.deepEqual(missing.body, {
      type: 'error',
      links: {},
      code: 'ServerError',
      message: 'metadata.resourceVersion is required for update',
      status: 500,
    });

    const stale = structuredClone(current);
    stale.metadata.resourceVersion = String(Number(current.metadata.resourceVersion) - 1);
    const conflict = await sim.rancher('PUT', path, stale);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'Conflict');
    assert.equal(
      conflict.body.message,
      'Operation cannot be fulfilled on clusters.provisioning.cattle.io "rv": the object has been modified; ' +
        'please apply your changes to the latest version and try again',
    );

    const edited = structuredClone(current);
    edited.metadata.labels = { team: 'a' };
    const put = await sim.rancher('PUT', path, edited);
    assert.equal(put.status, 200);
    assert.equal(put.body.metadata.labels.team, 'a');
    assert.notEqual(put.body.metadata.resourceVersion, current.metadata.resourceVersion);
    // Labels are metadata: the generation stays.
    assert.equal(put.body.metadata.generation, 1);

    const patched = await sim.rancher(
      'PATCH',
      path,
      { metadata: { labels: { team: 'b' } } },
      {
        'Content-Type': 'application/merge-patch+json',
      },
    );
    assert.equal(patched.status, 200);
    assert.equal(patched.body.metadata.labels.team, 'b');
    assert.ok(Number(patched.body.metadata.resourceVersion) > Number(put.body.metadata.resourceVersion));
    // The status subresource survives a PUT that leaves it out.
    assert.equal(patched.body.status.clusterName, current.status.clusterName);
    // The webhook lets an update keep or drop the creator annotation, never change it.
    const creator = await sim.rancher('PATCH', path, {
      metadata: { annotations: { 'field.cattle.io/creatorId': 'u-other' } },
    });
    assert.equal(creator.status, 422);
    assert.equal(creator.body.message, `${ADMISSION}creatorID annotation cannot be changed`);
  });

  it('lists with revision, limit and continue, filter= and labelSelector=', async () => {
    const config = await createMachineConfig(sim, 'nc-list-');
    for (const name of ['list-a', 'list-b', 'list-c']) {
      const body = v2ClusterBody(name, config.metadata.name);
      (body.metadata as any).labels = { group: name === 'list-b' ? 'odd' : 'even' };
      assert.equal((await sim.rancher('POST', CLUSTERS_V1, body)).status, 201);
    }
    const first = await sim.rancher('GET', `${CLUSTERS_V1}?limit=2`);
    assert.equal(first.status, 200);
    assert.equal(first.body.type, 'collection');
    assert.equal(first.body.resourceType, 'provisioning.cattle.io.cluster');
    assert.match(first.body.revision, /^\d+$/);
    assert.equal(first.body.data.length, 2);
    assert.equal(first.body.count, 2);
    assert.equal(typeof first.body.continue, 'string');
    assert.equal(first.body.createTypes['provisioning.cattle.io.cluster'], `${sim.url}${CLUSTERS_V1}`);
    const names: string[] = first.body.data.map((c: any) => c.metadata.name);
    let token: string | undefined = first.body.continue;
    while (token) {
      const page = await sim.rancher('GET', `${CLUSTERS_V1}?limit=2&continue=${encodeURIComponent(token)}`);
      names.push(...page.body.data.map((c: any) => c.metadata.name));
      token = page.body.continue;
    }
    const all = await sim.rancher('GET', CLUSTERS_V1);
    assert.deepEqual(
      names,
      all.body.data.map((c: any) => c.metadata.name),
    );
    assert.equal(all.body.continue, undefined);

    const byName = await sim.rancher('GET', `${CLUSTERS_V1}?filter=metadata.name=list-b`);
    assert.deepEqual(
      byName.body.data.map((c: any) => c.id),
      ['fleet-default/list-b'],
    );
    const either = await sim.rancher(
      'GET',
      `${CLUSTERS_V1}?filter=metadata.name=list-a,metadata.name=list-c`,
    );
    assert.deepEqual(
      either.body.data.map((c: any) => c.id),
      ['fleet-default/list-a', 'fleet-default/list-c'],
    );
    const byLabel = await sim.rancher('GET', `${CLUSTERS_V1}?labelSelector=group%3Dodd`);
    assert.deepEqual(
      byLabel.body.data.map((c: any) => c.id),
      ['fleet-default/list-b'],
    );
    const inNamespace = await sim.rancher('GET', `${CLUSTERS_V1}/fleet-local`);
    assert.deepEqual(inNamespace.body.data, []);
  });

  it('sorts the page it returns by sort=', async () => {
    const config = await createMachineConfig(sim, 'nc-sort-');
    for (const [name, version] of [
      ['sort-a', 'v1.30.14+rke2r2'],
      ['sort-b', 'v1.32.5+rke2r1'],
    ]) {
      const body = v2ClusterBody(name, config.metadata.name, undefined, version);
      assert.equal((await sim.rancher('POST', CLUSTERS_V1, body)).status, 201);
    }
    const byVersion = await sim.rancher(
      'GET',
      `${CLUSTERS_V1}?filter=metadata.name=sort-&sort=-spec.kubernetesVersion`,
    );
    assert.deepEqual(
      byVersion.body.data.map((c: any) => c.metadata.name),
      ['sort-b', 'sort-a'],
    );
    const byName = await sim.rancher('GET', `${CLUSTERS_V1}?filter=metadata.name=sort-&sort=metadata.name`);
    assert.deepEqual(
      byName.body.data.map((c: any) => c.metadata.name),
      ['sort-a', 'sort-b'],
    );
  });

  it('describes its types at /v1/schemas', async () => {
    const schema = await sim.rancher('GET', '/v1/schemas/rke-machine-config.cattle.io.openstackconfig');
    assert.equal(schema.status, 200);
    assert.equal(schema.body.type, 'schema');
    assert.deepEqual(schema.body.collectionMethods, ['GET', 'POST']);
    assert.equal(schema.body.attributes.kind, 'OpenstackConfig');
    assert.equal(schema.body.attributes.namespaced, true);
    assert.equal(schema.body.links.collection, `${sim.url}${OPENSTACK_CONFIGS}`);
    const missing = await sim.rancher('GET', '/v1/schemas/rke-machine-config.cattle.io.nosuchconfig');
    assert.equal(missing.status, 404);
    const all = await sim.rancher('GET', '/v1/schemas');
    const ids = all.body.data.map((s: any) => s.id);
    for (const id of [
      'provisioning.cattle.io.cluster',
      'cluster.x-k8s.io.machine',
      'rke.cattle.io.etcdsnapshot',
    ]) {
      assert.ok(ids.includes(id), id);
    }
  });

  it('keeps cloud credentials in cattle-global-data, secrets hidden, undeletable while referenced', async () => {
    const missing = await sim.rancher('POST', '/v3/cloudcredentials', { name: 'empty' });
    assert.equal(missing.status, 422);
    assert.equal(missing.body.code, 'MissingRequired');
    assert.equal(missing.body.message, 'a Config field must be set');

    const created = await sim.rancher('POST', '/v3/cloudcredentials', {
      type: 'cloudCredential',
      name: 'openstack-prod',
      openstackcredentialConfig: { password: 's3cr3t' },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.id, /^cattle-global-data:cc-[a-z0-9]{5}$/);
    assert.equal(created.body.name, 'openstack-prod');
    assert.deepEqual(created.body.openstackcredentialConfig, {});
    assert.ok(
      !JSON.stringify((await sim.rancher('GET', `/v3/cloudcredentials/${created.body.id}`)).body).includes(
        's3cr3t',
      ),
    );

    const config = await createMachineConfig(sim, 'nc-cred-');
    const body: any = v2ClusterBody('cred-user', config.metadata.name);
    body.spec.cloudCredentialSecretName = created.body.id;
    assert.equal((await sim.rancher('POST', CLUSTERS_V1, body)).status, 201);
    const refused = await sim.rancher('DELETE', `/v3/cloudcredentials/${created.body.id}`);
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'InvalidAction');
    assert.equal(
      refused.body.message,
      'Cloud credential is currently referenced by provisioning cluster cred-user',
    );

    await sim.rancher('DELETE', `${CLUSTERS_V1}/fleet-default/cred-user`);
    await waitForGone(sim, `${CLUSTERS_V1}/fleet-default/cred-user`);
    const deleted = await sim.rancher('DELETE', `/v3/cloudcredentials/${created.body.id}`);
    assert.equal(deleted.status, 200);
    assert.equal((await sim.rancher('GET', `/v3/cloudcredentials/${created.body.id}`)).status, 404);
  });

  it('deletes: 200 with deletionTimestamp, then gone, then the twin gone', async () => {
    await createV2Cluster(sim, 'doomed');
    const path = `${CLUSTERS_V1}/fleet-default/doomed`;
    const active = await waitForSteveState(sim, path, 'active');
    const twinPath = `/v3/clusters/${active.status.clusterName}`;

    const deleted = await sim.rancher('DELETE', path);
    assert.equal(deleted.status, 200);
    assert.match(deleted.body.metadata.deletionTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(deleted.body.metadata.state.name, 'removing');

    await waitForGone(sim, path);
    assert.equal((await sim.rancher('GET', twinPath)).status, 200, 'the twin outlives the v1 object');
    await waitForGone(sim, twinPath);
    // The machine config it owned went with it (garbage collection of owner references).
    const configs = await sim.rancher('GET', OPENSTACK_CONFIGS);
    assert.ok(!configs.body.data.some((c: any) => c.metadata.name.startsWith('nc-doomed-')));
  });

  it('serves the v2 registration token of the twin', async () => {
    const created = await createV2Cluster(sim, 'custom-tokens');
    const cluster = await waitFor(async () => {
      const { body } = await sim.rancher('GET', `${CLUSTERS_V1}/${created.id}`);
      return body.status?.clusterName ? body : undefined;
    });
    const id = `${cluster.status.clusterName}:default-token`;
    const token = await waitFor(async () => {
      const { body } = await sim.rancher('GET', `/v3/clusterregistrationtokens/${id}`);
      return body.nodeCommand ? body : undefined;
    });
    assert.match(
      token.nodeCommand,
      new RegExp(
        `^curl -fL ${sim.url}/system-agent-install\\.sh \\| sudo sh -s - --server ${sim.url} --label 'cattle\\.io/os=linux' --token ${token.token}$`,
      ),
    );
    assert.match(token.insecureNodeCommand, /^curl --insecure -fL /);
  });
});
