/** Envelopes (§2.1, §2.2), pagination (§2.3), filters (§2.4) and type paths (§2.5). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';
import { QUICK, TEMPLATE } from './fixtures';

describe('collections and envelopes', () => {
  let sim: TestSimulator;
  let clusterIds: string[];
  before(async () => {
    sim = await startTestSimulator({ timings: QUICK, nodeTemplates: [TEMPLATE] });
    clusterIds = (
      await sim.seed({ clusters: 25, poolsPerCluster: 2, nodesPerPool: 2, labels: { env: 'test' } })
    ).clusterIds;
  });
  after(() => sim.close());

  it('wraps a list in the collection envelope', async () => {
    const { status, body } = await sim.rancher('GET', '/v3/clusters');
    assert.equal(status, 200);
    assert.equal(body.type, 'collection');
    assert.equal(body.resourceType, 'cluster');
    assert.deepEqual(body.links, { self: `${sim.url}/v3/clusters` });
    assert.deepEqual(body.createTypes, { cluster: `${sim.url}/v3/clusters` });
    assert.deepEqual(body.actions, {});
    assert.deepEqual(body.pagination, { limit: 1000, total: 25 });
    assert.equal(body.sort.order, 'asc');
    assert.equal(body.sort.reverse, `${sim.url}/v3/clusters?order=desc`);
    assert.equal(body.sort.links.name, `${sim.url}/v3/clusters?sort=name`);
    assert.equal(body.filters.name, null);
    assert.equal(body.data.length, 25);
    assert.deepEqual(
      body.data.map((c: any) => c.id),
      [...clusterIds].sort(),
      'sorted by id ascending',
    );
  });

  it('renders the resource envelope with absolute links and actions', async () => {
    const id = clusterIds[0];
    const { body } = await sim.rancher('GET', `/v3/clusters/${id}`);
    assert.equal(body.id, id);
    assert.match(id, /^c-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(body.type, 'cluster');
    assert.equal(body.baseType, 'cluster');
    assert.equal(body.state, 'active');
    assert.equal(body.transitioning, 'no');
    assert.equal(body.transitioningMessage, '');
    assert.match(body.uuid, /^[0-9a-f-]{36}$/);
    assert.match(body.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(body.createdTS, Date.parse(body.created));
    assert.deepEqual(body.labels, { env: 'test' });
    assert.equal(typeof body.annotations, 'object');
    assert.equal(body.driver, 'rancherKubernetesEngine');
    assert.equal(body.nodeCount, 4);
    assert.deepEqual(body.capacity, { cpu: '16', memory: '65522560Ki', pods: '440' });
    assert.deepEqual(body.componentStatuses, []);
    assert.equal(body.version.gitVersion, 'v1.31.9');
    const self = `${sim.url}/v3/clusters/${id}`;
    assert.equal(body.links.self, self);
    assert.equal(body.links.update, self);
    assert.equal(body.links.remove, self);
    assert.equal(body.links.nodePools, `${sim.url}/v3/nodePools?clusterId=${id}`);
    assert.equal(body.links.nodes, `${sim.url}/v3/nodes?clusterId=${id}`);
    assert.equal(body.actions.generateKubeconfig, `${self}?action=generateKubeconfig`);
    assert.equal(body.actions.backupEtcd, `${self}?action=backupEtcd`);
    assert.equal(body.namespaceId, undefined, 'clusters are not namespaced');

    const pools = await sim.rancher('GET', `/v3/nodepools?clusterId=${id}`);
    const pool = pools.body.data[0];
    assert.match(pool.id, new RegExp(`^${id}:np-[a-z0-9]{5}$`));
    assert.equal(pool.namespaceId, null);
    assert.equal(pool.links.self, `${sim.url}/v3/nodePools/${pool.id}`);
    assert.equal(pool.links.nodes, `${sim.url}/v3/nodes?nodePoolId=${pool.id}`);
    assert.deepEqual(
      pool.status.conditions.map((c: any) => [c.type, c.status]),
      [['Updated', 'True']],
    );
    assert.equal(pool.driver, 'openstack');
  });

  it('pages with limit and marker, following next to the end', async () => {
    const first = await sim.rancher('GET', '/v3/clusters?limit=10');
    const sorted = [...clusterIds].sort();
    const p = first.body.pagination;
    assert.equal(p.limit, 10);
    assert.equal(p.total, 25);
    assert.equal(p.partial, true);
    assert.equal(p.next, `${sim.url}/v3/clusters?limit=10&marker=${sorted[10]}`);
    assert.equal(p.first, `${sim.url}/v3/clusters?limit=10&marker=${sorted[0]}`);
    assert.equal(p.last, `${sim.url}/v3/clusters?limit=10&marker=${sorted[20]}`);
    assert.equal(p.previous, undefined);
    assert.deepEqual(
      first.body.data.map((c: any) => c.id),
      sorted.slice(0, 10),
    );

    const seen: string[] = [];
    let next: string | undefined = `${sim.url}/v3/clusters?limit=10`;
    let pages = 0;
    while (next) {
      const page: any = await sim.rancher('GET', next.slice(sim.url.length));
      seen.push(...page.body.data.map((c: any) => c.id));
      next = page.body.pagination.next;
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, sorted);

    const middle = await sim.rancher('GET', `/v3/clusters?limit=10&marker=${sorted[10]}`);
    assert.equal(middle.body.pagination.marker, sorted[10]);
    assert.equal(middle.body.pagination.previous, `${sim.url}/v3/clusters?limit=10&marker=${sorted[0]}`);
    const last = await sim.rancher('GET', `/v3/clusters?limit=10&marker=${sorted[20]}`);
    assert.equal(last.body.data.length, 5);
    assert.equal(last.body.pagination.next, undefined);
  });

  it('restarts at the beginning for an unknown marker', async () => {
    const { body } = await sim.rancher('GET', '/v3/clusters?limit=5&marker=c-nope0');
    assert.equal(body.data[0].id, [...clusterIds].sort()[0]);
  });

  it('applies the limit rules: default, -1 = max, non-numeric ignored, capped at 10000', async () => {
    const limitOf = async (q: string) =>
      (await sim.rancher('GET', `/v3/clusters?${q}`)).body.pagination.limit;
    assert.equal(await limitOf('limit=-1'), 10000);
    assert.equal(await limitOf('limit=abc'), 1000);
    assert.equal(await limitOf('limit=20000'), 10000);
    assert.equal(await limitOf('limit=3'), 3);
  });

  it('sorts by name and in descending order', async () => {
    const byName = await sim.rancher('GET', '/v3/clusters?sort=name&limit=3');
    assert.deepEqual(
      byName.body.data.map((c: any) => c.name),
      ['seed-1', 'seed-10', 'seed-11'],
    );
    assert.equal(byName.body.sort.name, 'name');
    const desc = await sim.rancher('GET', '/v3/clusters?order=desc&limit=2');
    const sorted = [...clusterIds].sort().reverse();
    assert.deepEqual(
      desc.body.data.map((c: any) => c.id),
      sorted.slice(0, 2),
    );
  });

  it('filters by equality, _ne, _in and _notin and reports applied filters', async () => {
    const eq = await sim.rancher('GET', '/v3/clusters?name=seed-3');
    assert.deepEqual(
      eq.body.data.map((c: any) => c.name),
      ['seed-3'],
    );
    assert.deepEqual(eq.body.filters.name, [{ modifier: 'eq', value: 'seed-3' }]);
    assert.equal(eq.body.pagination.total, 1);

    const ne = await sim.rancher('GET', '/v3/clusters?name_ne=seed-3');
    assert.equal(ne.body.data.length, 24);
    assert.ok(!ne.body.data.some((c: any) => c.name === 'seed-3'));

    const inList = await sim.rancher('GET', '/v3/clusters?name_in=seed-1&name_in=seed-2&name_in=nope');
    assert.deepEqual(inList.body.data.map((c: any) => c.name).sort(), ['seed-1', 'seed-2']);

    const notIn = await sim.rancher('GET', '/v3/clusters?name_notin=seed-1&name_notin=seed-2');
    assert.equal(notIn.body.data.length, 23);

    const cluster = clusterIds[4];
    const nodes = await sim.rancher('GET', `/v3/nodes?clusterId=${cluster}`);
    assert.equal(nodes.body.data.length, 4);
    assert.ok(nodes.body.data.every((n: any) => n.clusterId === cluster));
    const pool = nodes.body.data[0].nodePoolId;
    const byPool = await sim.rancher('GET', `/v3/nodes?nodePoolId=${pool}`);
    assert.equal(byPool.body.data.length, 2);
    const workers = await sim.rancher('GET', `/v3/nodes?clusterId=${cluster}&worker=true`);
    assert.equal(workers.body.data.length, 2);
    assert.ok(workers.body.data.every((n: any) => n.worker === true));
  });

  it('ignores unknown filter keys and returns everything', async () => {
    const { body } = await sim.rancher('GET', '/v3/clusters?labels=env%3Dprod&bogus=1&state=nope');
    assert.equal(body.data.length, 25);
    assert.equal(body.filters.bogus, undefined);
  });

  it('resolves type paths case-insensitively, singular or plural, with raw colon ids', async () => {
    const pools = (await sim.rancher('GET', '/v3/nodepools')).body.data;
    assert.equal(pools.length, 50);
    for (const path of ['/v3/nodePools', '/v3/NODEPOOLS', '/v3/nodepool', '/v3/nodePool']) {
      const { status, body } = await sim.rancher('GET', path);
      assert.equal(status, 200, path);
      assert.equal(body.resourceType, 'nodePool', path);
      assert.equal(body.data.length, 50, path);
    }
    const id = pools[0].id;
    assert.equal((await sim.rancher('GET', `/v3/nodePools/${id}`)).body.id, id);
    assert.equal((await sim.rancher('GET', `/v3/nodepool/${encodeURIComponent(id)}`)).body.id, id);
    assert.equal((await sim.rancher('GET', '/v3/Cluster')).body.resourceType, 'cluster');
  });
});
