/**
 * `Idempotency-Key` on create, scale and delete: a retried request replays the first answer and
 * changes nothing, even when the copies race; a key reused for another request is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('Idempotency-Key', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;

  const count = async (sql: string, params: unknown[] = []) =>
    Number((await paddock.db.query<{ n: string }>(sql, params)).rows[0].n);
  const clustersNamed = (name: string) => count('select count(*) as n from clusters where name = $1', [name]);
  const operationsOf = (name: string) =>
    count('select count(*) as n from operations o join clusters c on c.id = o.cluster_id where c.name = $1', [
      name,
    ]);
  const rancherCreates = async () =>
    (await sim.calls()).filter((c) => c.method === 'POST' && c.path === '/v3/clusters').length;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('replays a create: same status, body and Location, one cluster, one operation, one Rancher create', async () => {
    await sim.clearCalls();
    const headers = { 'idempotency-key': 'create-once' };
    const first = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('once'), headers);
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const second = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('once'), headers);
    assert.equal(second.status, 202);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.headers.get('location'), first.headers.get('location'));
    assert.deepEqual(second.body, first.body);
    assert.equal(second.body.operation.id, first.body.operation.id);

    assert.equal((await paddock.waitForOperation(first.body.operation.id)).state, 'succeeded');
    // A replay after the operation finished still answers the original 202, not the current state.
    const third = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('once'), headers);
    assert.equal(third.status, 202);
    assert.equal(third.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(third.body, first.body);

    assert.equal(await clustersNamed('once'), 1);
    assert.equal(await operationsOf('once'), 1);
    assert.equal(await rancherCreates(), 1);
  });

  it('treats the same body with another key order as the same request', async () => {
    const headers = { 'idempotency-key': 'create-ordered' };
    const body = {
      name: 'ordered',
      labels: { a: '1', b: '2' },
      nodePools: [
        { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
        { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
      ],
    };
    const first = await paddock.request('POST', '/v1/projects/web/clusters', body, headers);
    assert.equal(first.status, 202);
    const reordered = `{"nodePools":[{"flavor":"m1.large","quantity":1,"roles":["etcd","controlplane"],"name":"control"},{"quantity":1,"flavor":"m1.large","name":"workers","roles":["worker"]}],"labels":{"b":"2","a":"1"},"name":"ordered"}`;
    const second = await paddock.request('POST', '/v1/projects/web/clusters', reordered, headers);
    assert.equal(second.status, 202, JSON.stringify(second.body));
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(second.body, first.body);
    assert.equal(await clustersNamed('ordered'), 1);
    assert.equal((await paddock.waitForOperation(first.body.operation.id)).state, 'succeeded');
  });

  it('refuses the same key with another body (422 IDEMPOTENCY_KEY_REUSED) and writes nothing', async () => {
    const headers = { 'idempotency-key': 'create-once' };
    const keysBefore = await count('select count(*) as n from idempotency_keys');
    const clustersBefore = await count('select count(*) as n from clusters');
    const operationsBefore = await count('select count(*) as n from operations');
    for (const [method, path, body] of [
      ['POST', '/v1/projects/web/clusters', clusterBody('once', { labels: { x: 'y' } })],
      ['POST', '/v1/projects/web/clusters', clusterBody('someone-else')],
      // Same body, another route: a different request too.
      [
        'POST',
        '/v1/projects/web/clusters/once/node-pools',
        { name: 'extra', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
      ],
      ['PATCH', '/v1/projects/web/clusters/once/node-pools/workers', { quantity: 3 }],
    ] as const) {
      const response = await paddock.request(method, path, body, headers);
      assert.equal(response.status, 422, `${method} ${path}: ${JSON.stringify(response.body)}`);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(response.body.code, 'IDEMPOTENCY_KEY_REUSED');
      assert.equal(response.body.status, 422);
      assert.equal(response.headers.get('idempotent-replayed'), null);
    }
    assert.equal(await count('select count(*) as n from idempotency_keys'), keysBefore);
    assert.equal(await count('select count(*) as n from clusters'), clustersBefore);
    assert.equal(await count('select count(*) as n from operations'), operationsBefore);
    assert.equal(await clustersNamed('someone-else'), 0);
  });

  it('replays a scale (PATCH) and a delete (DELETE)', async () => {
    const scaleHeaders = { 'idempotency-key': 'scale-once' };
    const scaled = await paddock.request(
      'PATCH',
      '/v1/projects/web/clusters/once/node-pools/workers',
      { quantity: 3 },
      scaleHeaders,
    );
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    const scaledAgain = await paddock.request(
      'PATCH',
      '/v1/projects/web/clusters/once/node-pools/workers',
      { quantity: 3 },
      scaleHeaders,
    );
    assert.equal(scaledAgain.status, 202);
    assert.equal(scaledAgain.headers.get('idempotent-replayed'), 'true');
    assert.equal(scaledAgain.headers.get('location'), `/v1/operations/${scaled.body.id}`);
    assert.deepEqual(scaledAgain.body, scaled.body);
    assert.equal((await paddock.waitForOperation(scaled.body.id)).state, 'succeeded');
    assert.equal(await count(`select count(*) as n from operations where type = 'scale-node-pool'`), 1);
    // Without a key the same scale is a new operation (nothing is replayed).
    const unkeyed = await paddock.request('PATCH', '/v1/projects/web/clusters/once/node-pools/workers', {
      quantity: 3,
    });
    assert.equal(unkeyed.status, 202);
    assert.notEqual(unkeyed.body.id, scaled.body.id);
    assert.equal((await paddock.waitForOperation(unkeyed.body.id)).state, 'succeeded');

    const deleteHeaders = { 'idempotency-key': 'delete-once' };
    const deleted = await paddock.request(
      'DELETE',
      '/v1/projects/web/clusters/once',
      undefined,
      deleteHeaders,
    );
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    const deletedAgain = await paddock.request(
      'DELETE',
      '/v1/projects/web/clusters/once',
      undefined,
      deleteHeaders,
    );
    assert.equal(deletedAgain.status, 202);
    assert.equal(deletedAgain.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(deletedAgain.body, deleted.body);
    assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    // Even after the cluster is gone (a plain DELETE would now be a 404), the retry replays the 202.
    assert.equal((await paddock.request('DELETE', '/v1/projects/web/clusters/once')).status, 404);
    const late = await paddock.request('DELETE', '/v1/projects/web/clusters/once', undefined, deleteHeaders);
    assert.equal(late.status, 202);
    assert.deepEqual(late.body, deleted.body);
    assert.equal(await count(`select count(*) as n from operations where type = 'delete-cluster'`), 1);
    assert.equal(
      (await sim.calls()).filter((c) => c.method === 'DELETE' && c.path.startsWith('/v3/clusters/')).length,
      1,
    );
  });

  it('gives ten racing copies of a create the same answer and makes one cluster', async () => {
    await sim.clearCalls();
    const headers = { 'idempotency-key': 'create-race' };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        paddock.request('POST', '/v1/projects/web/clusters', clusterBody('raced'), headers),
      ),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array.from({ length: 10 }, () => 202),
      JSON.stringify(responses.map((r) => r.body)),
    );
    const operationIds = new Set(responses.map((r) => r.body.operation.id));
    assert.equal(operationIds.size, 1);
    assert.equal(responses.filter((r) => r.headers.get('idempotent-replayed') === null).length, 1);
    for (const r of responses) assert.deepEqual(r.body, responses[0].body);
    assert.equal(await clustersNamed('raced'), 1);
    assert.equal(await operationsOf('raced'), 1);
    assert.equal((await paddock.waitForOperation([...operationIds][0])).state, 'succeeded');
    assert.equal(await rancherCreates(), 1);
  });

  it('gives racing copies of a scale one operation', async () => {
    const headers = { 'idempotency-key': 'scale-race' };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        paddock.request(
          'PATCH',
          '/v1/projects/web/clusters/raced/node-pools/workers',
          { quantity: 1 },
          headers,
        ),
      ),
    );
    assert.deepEqual(
      new Set(responses.map((r) => r.status)),
      new Set([202]),
      JSON.stringify(responses.map((r) => r.body)),
    );
    assert.equal(new Set(responses.map((r) => r.body.id)).size, 1);
    assert.equal((await paddock.waitForOperation(responses[0].body.id)).state, 'succeeded');
  });

  it('does not burn a key on a refused request', async () => {
    const headers = { 'idempotency-key': 'fix-and-retry' };
    const bad = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('Fixed'), headers);
    assert.equal(bad.status, 400);
    assert.equal(await count(`select count(*) as n from idempotency_keys where key = 'fix-and-retry'`), 0);
    // The corrected body under the same key is a new request, and it runs.
    const good = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('fixed'), headers);
    assert.equal(good.status, 202, JSON.stringify(good.body));
    assert.equal(good.headers.get('idempotent-replayed'), null);
    // From then on the key belongs to the corrected body: the bad one is now a reuse.
    const badAgain = await paddock.request(
      'POST',
      '/v1/projects/web/clusters',
      clusterBody('Fixed'),
      headers,
    );
    assert.equal(badAgain.status, 422);
    assert.equal(badAgain.body.code, 'IDEMPOTENCY_KEY_REUSED');

    // A conflict (409) is not stored either: retrying re-executes and sees the current state.
    const conflictHeaders = { 'idempotency-key': 'conflicting' };
    const conflict = await paddock.request(
      'POST',
      '/v1/projects/web/clusters',
      clusterBody('fixed'),
      conflictHeaders,
    );
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.code, 'CLUSTER_EXISTS');
    assert.equal(await count(`select count(*) as n from idempotency_keys where key = 'conflicting'`), 0);
    assert.equal((await paddock.waitForOperation(good.body.operation.id)).state, 'succeeded');
  });

  it('keeps every answered key in Postgres for at least 24 hours, with its answer', async () => {
    const { rows } = await paddock.db.query<{
      key: string;
      method: string;
      path: string;
      status_code: number;
      location: string | null;
      kept: boolean;
      response_body: unknown;
    }>(
      `select key, method, path, status_code, location, response_body,
              expires_at >= created_at + interval '24 hours' as kept
         from idempotency_keys order by key`,
    );
    assert.deepEqual(
      rows.map((r) => [r.key, r.method, r.path, r.status_code, r.kept]),
      [
        ['create-once', 'POST', '/v1/projects/web/clusters', 202, true],
        ['create-ordered', 'POST', '/v1/projects/web/clusters', 202, true],
        ['create-race', 'POST', '/v1/projects/web/clusters', 202, true],
        ['delete-once', 'DELETE', '/v1/projects/web/clusters/once', 202, true],
        ['fix-and-retry', 'POST', '/v1/projects/web/clusters', 202, true],
        ['scale-once', 'PATCH', '/v1/projects/web/clusters/once/node-pools/workers', 202, true],
        ['scale-race', 'PATCH', '/v1/projects/web/clusters/raced/node-pools/workers', 202, true],
      ],
    );
    for (const row of rows) {
      assert.match(row.location ?? '', /^\/v1\/operations\/[0-9a-f-]{36}$/);
      assert.notEqual(row.response_body, null);
    }
  });

  it('ignores Idempotency-Key on reads', async () => {
    const response = await paddock.request('GET', '/v1/projects/web/clusters', undefined, {
      'idempotency-key': 'read',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('idempotent-replayed'), null);
    assert.equal(await count(`select count(*) as n from idempotency_keys where key = 'read'`), 0);
  });
});
