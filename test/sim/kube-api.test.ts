/** The downstream Kubernetes API behind `/k8s/clusters/<id>` (rancher-api.md §7.1), over real HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { createActiveCluster, createCluster, QUICK, TEMPLATE } from './fixtures';

describe('cluster Kubernetes API', () => {
  let sim: TestSimulator;
  let clusterId: string;
  let base: string;

  before(async () => {
    sim = await startTestSimulator({ timings: QUICK, nodeTemplates: [TEMPLATE] });
    const { cluster } = await createActiveCluster(sim, 'kube', 2);
    clusterId = cluster.id;
    base = `/k8s/clusters/${clusterId}`;
  });
  after(() => sim.close());

  const kube = (method: string, path: string, body?: unknown, contentType?: string) =>
    fetch(`${sim.url}${base}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${sim.token}`,
        ...(body === undefined ? {} : { 'Content-Type': contentType ?? 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const read = async (method: string, path: string, body?: unknown, contentType?: string) => {
    const response = await kube(method, path, body, contentType);
    return { status: response.status, body: (await response.json()) as any };
  };
  const configMap = (name: string, data: Record<string, string> = { key: 'value' }) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data,
  });

  describe('the proxy in front', () => {
    it('answers 401 with the Rancher filter body for a missing or unknown token', async () => {
      for (const authorization of [undefined, 'Bearer token-abcde:wrong']) {
        const response = await fetch(`${sim.url}${base}/api/v1/nodes`, {
          headers: authorization ? { Authorization: authorization } : {},
        });
        assert.equal(response.status, 401);
        assert.deepEqual(await response.json(), {
          type: 'error',
          status: '401',
          message: 'Unauthorized 401: must authenticate',
        });
      }
    });

    it('answers an unknown cluster with the cluster router 404', async () => {
      const response = await fetch(`${sim.url}/k8s/clusters/c-nope/api/v1/nodes`, {
        headers: { Authorization: `Bearer ${sim.token}` },
      });
      assert.equal(response.status, 404);
      assert.deepEqual(JSON.parse(await response.text()), {
        Code: { Code: 'NotFound', Status: 404 },
        Message: 'clusters.management.cattle.io "c-nope" not found',
        Cause: null,
        FieldName: '',
      });
    });

    it('answers 503 ClusterUnavailable with Rancher body until the cluster is provisioned', async () => {
      const pending = await createCluster(sim, 'not-yet');
      const response = await fetch(`${sim.url}/k8s/clusters/${pending.id}/api/v1/configmaps`, {
        headers: { Authorization: `Bearer ${sim.token}` },
      });
      assert.equal(response.status, 503);
      // Rancher sets the content type after the status line, so Go sniffs it as text.
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(
        await response.text(),
        '{"Code":{"Code":"ClusterUnavailable","Status":503},"Message":"cluster not provisioned","Cause":null,"FieldName":""}\n',
      );
    });

    it('keeps fault injection and the call log working on proxy paths', async () => {
      await sim.clearCalls();
      await sim.faults.add({
        method: 'GET',
        path: '^/k8s/clusters/[^/]+/api/v1/nodes$',
        status: 500,
        times: 1,
      });
      assert.equal((await kube('GET', '/api/v1/nodes')).status, 500);
      assert.equal((await kube('GET', '/api/v1/nodes')).status, 200);
      const calls = await sim.calls();
      assert.deepEqual(
        calls.map((call) => [call.method, call.path, call.status]),
        [
          ['GET', `${base}/api/v1/nodes`, 500],
          ['GET', `${base}/api/v1/nodes`, 200],
        ],
      );
    });
  });

  describe('version and discovery', () => {
    it('serves /version from the cluster kubernetesVersion', async () => {
      const cluster = (await sim.rancher('GET', `/v3/clusters/${clusterId}`)).body;
      const version = (await read('GET', '/version')).body;
      const expected = cluster.rancherKubernetesEngineConfig.kubernetesVersion.replace(/-rancher.*$/, '');
      assert.equal(version.gitVersion, expected);
      assert.equal(`v${version.major}.${version.minor}`, expected.split('.').slice(0, 2).join('.'));
    });

    it('serves /api, /apis and /api/v1 as legacy discovery', async () => {
      assert.deepEqual((await read('GET', '/api')).body.versions, ['v1']);
      const groups = (await read('GET', '/apis')).body;
      assert.equal(groups.kind, 'APIGroupList');
      assert.deepEqual(groups.groups, []);
      const list = (await read('GET', '/api/v1')).body;
      assert.equal(list.kind, 'APIResourceList');
      assert.equal(list.groupVersion, 'v1');
      const byName = new Map<string, any>(list.resources.map((r: any) => [r.name, r]));
      assert.deepEqual([...byName.keys()].sort(), ['configmaps', 'namespaces', 'nodes', 'pods', 'pods/exec']);
      assert.equal(byName.get('configmaps').namespaced, true);
      assert.equal(byName.get('configmaps').kind, 'ConfigMap');
      assert.ok(byName.get('configmaps').verbs.includes('watch'));
      assert.equal(byName.get('nodes').namespaced, false);
      assert.deepEqual(byName.get('nodes').verbs, ['get', 'list', 'watch']);
      assert.equal(byName.get('pods/exec').kind, 'PodExecOptions');
      assert.deepEqual(byName.get('pods/exec').verbs, ['create', 'get']);
    });

    it('answers 404 Status for OpenAPI and unknown paths, so kubectl falls back', async () => {
      for (const path of ['/openapi/v2', '/openapi/v3', '/apis/apps/v1', '/api/v1/secrets', '/api/v2']) {
        const { status, body } = await read('GET', path);
        assert.equal(status, 404, path);
        assert.equal(body.kind, 'Status');
        assert.equal(body.reason, 'NotFound');
        assert.equal(body.code, 404);
      }
    });
  });

  describe('nodes', () => {
    it('lists the cluster nodes from the simulator node objects', async () => {
      const rancherNodes = (await sim.rancher('GET', `/v3/nodes?clusterId=${clusterId}`)).body.data;
      const { status, body } = await read('GET', '/api/v1/nodes');
      assert.equal(status, 200);
      assert.equal(body.kind, 'NodeList');
      assert.match(body.metadata.resourceVersion, /^\d+$/);
      assert.deepEqual(
        body.items.map((node: any) => node.metadata.name),
        rancherNodes.map((node: any) => node.nodeName).sort(),
      );
      const node = body.items[0];
      const source = rancherNodes.find((n: any) => n.nodeName === node.metadata.name);
      for (const role of ['controlplane', 'etcd', 'worker']) {
        assert.equal(node.metadata.labels[`node-role.kubernetes.io/${role}`], 'true');
      }
      assert.equal(node.metadata.labels['kubernetes.io/hostname'], node.metadata.name);
      assert.deepEqual(node.status.addresses, [
        { type: 'InternalIP', address: source.ipAddress },
        { type: 'Hostname', address: node.metadata.name },
      ]);
      assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
      assert.equal(node.status.nodeInfo.kubeletVersion, source.info.kubernetes.kubeletVersion);
    });

    it('gets one node, reflects the sim node Ready condition, and 404s unknown ones', async () => {
      const rancherNode = (await sim.rancher('GET', `/v3/nodes?clusterId=${clusterId}`)).body.data[0];
      await sim.setCondition({
        type: 'node',
        id: rancherNode.id,
        condition: { type: 'Ready', status: 'False', message: 'kubelet stopped posting node status' },
      });
      const node = (await read('GET', `/api/v1/nodes/${rancherNode.nodeName}`)).body;
      assert.equal(node.kind, 'Node');
      assert.equal(node.status.conditions[0].status, 'False');
      await sim.setCondition({
        type: 'node',
        id: rancherNode.id,
        condition: { type: 'Ready', status: 'True' },
      });
      const missing = await read('GET', '/api/v1/nodes/nope');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.message, 'nodes "nope" not found');
    });

    it('refuses writes to nodes with 405', async () => {
      const { status, body } = await read('POST', '/api/v1/nodes', { metadata: { name: 'x' } });
      assert.equal(status, 405);
      assert.equal(body.reason, 'MethodNotAllowed');
    });
  });

  describe('namespaces', () => {
    it('starts with the system namespaces', async () => {
      const names = (await read('GET', '/api/v1/namespaces')).body.items.map((ns: any) => ns.metadata.name);
      assert.deepEqual(names, ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
      const ns = (await read('GET', '/api/v1/namespaces/kube-system')).body;
      assert.equal(ns.status.phase, 'Active');
    });

    it('creates, gets and deletes a namespace, deleting what is in it', async () => {
      const created = await read('POST', '/api/v1/namespaces', { metadata: { name: 'team-a' } });
      assert.equal(created.status, 201);
      assert.equal(created.body.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
      assert.equal((await read('POST', '/api/v1/namespaces/team-a/configmaps', configMap('c1'))).status, 201);
      const deleted = await read('DELETE', '/api/v1/namespaces/team-a');
      assert.equal(deleted.status, 200);
      assert.equal(deleted.body.status.phase, 'Terminating');
      assert.equal((await read('GET', '/api/v1/namespaces/team-a')).status, 404);
      assert.equal((await read('GET', '/api/v1/namespaces/team-a/configmaps/c1')).status, 404);
    });

    it('refuses invalid names, duplicates and deleting default', async () => {
      const invalid = await read('POST', '/api/v1/namespaces', { metadata: { name: 'Team_A' } });
      assert.equal(invalid.status, 422);
      assert.equal(invalid.body.reason, 'Invalid');
      assert.match(invalid.body.message, /^Namespace "Team_A" is invalid: metadata.name: Invalid value/);
      const duplicate = await read('POST', '/api/v1/namespaces', { metadata: { name: 'default' } });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.reason, 'AlreadyExists');
      const forbidden = await read('DELETE', '/api/v1/namespaces/default');
      assert.equal(forbidden.status, 403);
      assert.equal(
        forbidden.body.message,
        'namespaces "default" is forbidden: this namespace may not be deleted',
      );
    });
  });

  describe('configmaps', () => {
    it('creates (201), conflicts on a duplicate (409 AlreadyExists), gets and 404s as Status', async () => {
      const created = await read('POST', '/api/v1/namespaces/default/configmaps', configMap('one'));
      assert.equal(created.status, 201);
      assert.equal(created.body.kind, 'ConfigMap');
      assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
      const duplicate = await read('POST', '/api/v1/namespaces/default/configmaps', configMap('one'));
      assert.equal(duplicate.status, 409);
      assert.deepEqual(duplicate.body, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'configmaps "one" already exists',
        reason: 'AlreadyExists',
        details: { name: 'one', kind: 'configmaps' },
        code: 409,
      });
      const fetched = await read('GET', '/api/v1/namespaces/default/configmaps/one');
      assert.deepEqual(fetched.body, created.body);
      const missing = await read('GET', '/api/v1/namespaces/default/configmaps/none');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.kind, 'Status');
      assert.equal(missing.body.message, 'configmaps "none" not found');
    });

    it('refuses a configmap in a missing namespace, a mismatched namespace and bad data', async () => {
      const noNamespace = await read('POST', '/api/v1/namespaces/nope/configmaps', configMap('x'));
      assert.equal(noNamespace.status, 404);
      assert.equal(noNamespace.body.message, 'namespaces "nope" not found');
      const mismatch = await read('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'x', namespace: 'kube-system' },
      });
      assert.equal(mismatch.status, 400);
      const badData = await read('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'x' },
        data: { n: 1 },
      });
      assert.equal(badData.status, 400);
      assert.equal(
        (await read('POST', '/api/v1/namespaces/default/configmaps', { metadata: {} })).status,
        422,
      );
    });

    it('bumps resourceVersion on every write and reports it on lists', async () => {
      const before = Number(
        (await read('GET', '/api/v1/namespaces/default/configmaps')).body.metadata.resourceVersion,
      );
      const created = (await read('POST', '/api/v1/namespaces/default/configmaps', configMap('rv'))).body;
      assert.equal(Number(created.metadata.resourceVersion), before + 1);
      const list = (await read('GET', '/api/v1/namespaces/default/configmaps')).body;
      assert.equal(list.kind, 'ConfigMapList');
      assert.equal(list.metadata.resourceVersion, created.metadata.resourceVersion);
      assert.equal(list.items[0].kind, undefined);
    });

    it('updates with the current resourceVersion and answers 409 Conflict on a stale one', async () => {
      const created = (await read('POST', '/api/v1/namespaces/default/configmaps', configMap('upd'))).body;
      const updated = await read('PUT', '/api/v1/namespaces/default/configmaps/upd', {
        ...created,
        data: { key: 'second' },
      });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.data.key, 'second');
      assert.equal(updated.body.metadata.uid, created.metadata.uid);
      assert.ok(Number(updated.body.metadata.resourceVersion) > Number(created.metadata.resourceVersion));
      const stale = await read('PUT', '/api/v1/namespaces/default/configmaps/upd', {
        ...created,
        data: { key: 'third' },
      });
      assert.equal(stale.status, 409);
      assert.equal(stale.body.reason, 'Conflict');
      assert.equal(
        stale.body.message,
        'Operation cannot be fulfilled on configmaps "upd": the object has been modified; please apply your changes to the latest version and try again',
      );
      assert.equal((await read('GET', '/api/v1/namespaces/default/configmaps/upd')).body.data.key, 'second');
    });

    it('applies merge patches and refuses JSON patch with 415', async () => {
      await read('POST', '/api/v1/namespaces/default/configmaps', configMap('patched', { a: '1', b: '2' }));
      const patched = await read(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/patched',
        { metadata: { labels: { team: 'x' } }, data: { a: null, c: '3' } },
        'application/strategic-merge-patch+json',
      );
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.body.data, { b: '2', c: '3' });
      assert.deepEqual(patched.body.metadata.labels, { team: 'x' });
      const jsonPatch = await read(
        'PATCH',
        '/api/v1/namespaces/default/configmaps/patched',
        [],
        'application/json-patch+json',
      );
      assert.equal(jsonPatch.status, 415);
    });

    it('deletes with a success Status, then 404s', async () => {
      const created = (await read('POST', '/api/v1/namespaces/default/configmaps', configMap('gone'))).body;
      const deleted = await read('DELETE', '/api/v1/namespaces/default/configmaps/gone');
      assert.equal(deleted.status, 200);
      assert.deepEqual(deleted.body, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name: 'gone', kind: 'configmaps', uid: created.metadata.uid },
      });
      assert.equal((await read('DELETE', '/api/v1/namespaces/default/configmaps/gone')).status, 404);
    });

    it('pages with limit and continue, and filters by label and field selectors', async () => {
      await read('POST', '/api/v1/namespaces', { metadata: { name: 'paging' } });
      for (let i = 0; i < 7; i++) {
        const cm = configMap(`p-${i}`);
        (cm.metadata as any).labels = { parity: i % 2 === 0 ? 'even' : 'odd' };
        await read('POST', '/api/v1/namespaces/paging/configmaps', cm);
      }
      const names: string[] = [];
      let token = '';
      let pages = 0;
      let version = '';
      do {
        const query = `limit=3${token ? `&continue=${encodeURIComponent(token)}` : ''}`;
        const page = (await read('GET', `/api/v1/namespaces/paging/configmaps?${query}`)).body;
        version ||= page.metadata.resourceVersion;
        assert.equal(page.metadata.resourceVersion, version);
        names.push(...page.items.map((item: any) => item.metadata.name));
        token = page.metadata.continue ?? '';
        if (token) assert.equal(page.metadata.remainingItemCount, 7 - names.length);
        pages++;
      } while (token);
      assert.equal(pages, 3);
      assert.deepEqual(names, ['p-0', 'p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6']);

      const even = (await read('GET', '/api/v1/namespaces/paging/configmaps?labelSelector=parity%3Deven'))
        .body;
      assert.deepEqual(
        even.items.map((i: any) => i.metadata.name),
        ['p-0', 'p-2', 'p-4', 'p-6'],
      );
      const byName = (await read('GET', '/api/v1/configmaps?fieldSelector=metadata.name%3Dp-3')).body;
      assert.deepEqual(
        byName.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`),
        ['paging/p-3'],
      );
      assert.equal((await read('GET', '/api/v1/configmaps?continue=garbage')).status, 400);
      assert.equal((await read('GET', '/api/v1/configmaps?fieldSelector=data.x%3D1')).status, 400);
    });

    it('keeps each cluster objects and resourceVersion apart', async () => {
      const { cluster: other } = await createActiveCluster(sim, 'kube-other', 1);
      await waitFor(
        async () =>
          (
            await fetch(`${sim.url}/k8s/clusters/${other.id}/version`, {
              headers: { Authorization: `Bearer ${sim.token}` },
            })
          ).ok,
      );
      const response = await fetch(
        `${sim.url}/k8s/clusters/${other.id}/api/v1/namespaces/default/configmaps`,
        {
          headers: { Authorization: `Bearer ${sim.token}` },
        },
      );
      const list = (await response.json()) as any;
      assert.deepEqual(list.items, []);
      const mine = (await read('GET', '/api/v1/namespaces/default/configmaps')).body;
      assert.ok(Number(mine.metadata.resourceVersion) > Number(list.metadata.resourceVersion));
    });
  });

  describe('server-side printing', () => {
    const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const table = async (path: string) => {
      const response = await fetch(`${sim.url}${base}${path}`, {
        headers: { Authorization: `Bearer ${sim.token}`, Accept: TABLE_ACCEPT },
      });
      return (await response.json()) as any;
    };

    it('answers kubectl Table requests for nodes with the apiserver columns', async () => {
      const nodes = await table('/api/v1/nodes');
      assert.equal(nodes.kind, 'Table');
      assert.equal(nodes.apiVersion, 'meta.k8s.io/v1');
      assert.match(nodes.metadata.resourceVersion, /^\d+$/);
      assert.deepEqual(
        nodes.columnDefinitions.filter((c: any) => c.priority === 0).map((c: any) => c.name),
        ['Name', 'Status', 'Roles', 'Age', 'Version'],
      );
      const [name, status, roles, age, version] = nodes.rows[0].cells;
      assert.equal(nodes.rows[0].object.kind, 'PartialObjectMetadata');
      assert.equal(nodes.rows[0].object.metadata.name, name);
      assert.equal(status, 'Ready');
      assert.equal(roles, 'controlplane,etcd,worker');
      assert.match(age, /^\d+[smhdy]/);
      assert.match(version, /^v1\.\d+\.\d+$/);
    });

    it('prints configmaps, namespaces and single objects, and honours includeObject', async () => {
      await read('POST', '/api/v1/namespaces/default/configmaps', configMap('printed', { a: '1', b: '2' }));
      const one = await table('/api/v1/namespaces/default/configmaps/printed?includeObject=Object');
      assert.deepEqual(
        one.columnDefinitions.map((c: any) => c.name),
        ['Name', 'Data', 'Age'],
      );
      assert.deepEqual(one.rows[0].cells.slice(0, 2), ['printed', 2]);
      assert.deepEqual(one.rows[0].object.data, { a: '1', b: '2' });
      const namespaces = await table('/api/v1/namespaces?includeObject=None');
      assert.deepEqual(namespaces.rows[0].cells.slice(0, 2), ['default', 'Active']);
      assert.equal(namespaces.rows[0].object, undefined);
      const paged = await table('/api/v1/namespaces?limit=2');
      assert.equal(paged.rows.length, 2);
      assert.ok(paged.metadata.continue);
    });
  });

  describe('pods', () => {
    it('lists one running echo pod per namespace', async () => {
      const pods = (await read('GET', '/api/v1/namespaces/default/pods')).body;
      assert.equal(pods.kind, 'PodList');
      assert.deepEqual(
        pods.items.map((p: any) => p.metadata.name),
        ['echo'],
      );
      const pod = (await read('GET', '/api/v1/namespaces/default/pods/echo')).body;
      assert.equal(pod.status.phase, 'Running');
      assert.equal(pod.spec.containers[0].name, 'echo');
      assert.equal((await read('GET', '/api/v1/namespaces/default/pods/other')).status, 404);
    });
  });
});
