/**
 * Clusters that expire, over real HTTP against Postgres, Redis and the simulator, with two worker
 * processes: an expired cluster is deleted by an ordinary delete operation (one, whatever the
 * number of workers), audited as `expire`, leaving nothing on the simulator; `PATCH {expiresAt}`
 * extends or clears; a project's `maxClusterLifetimeSeconds` bounds both; and `/metrics` counts
 * the clusters that expire within the hour.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PaddockClient, Schemas } from '../../cli/api/client';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('clusters that expire', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;
  let api: PaddockClient;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'child' });
    paddock.spawnWorker();
    api = paddock.client();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    for (const name of ['web', 'capped'])
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  const create = (project: string, body: Record<string, unknown>) =>
    api.POST('/v1/projects/{project}/clusters', {
      params: { path: { project } },
      body: body as unknown as Schemas['CreateClusterDto'],
    });
  const patch = (project: string, cluster: string, expiresAt: string | null) =>
    api.PATCH('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project, cluster } },
      body: { expiresAt },
    });
  const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

  it('an expired cluster is deleted once, by an ordinary delete audited as expire, leaving nothing on the simulator', async () => {
    const created = await create('web', clusterBody('ci-run', { ttlSeconds: 4 }));
    assert.ok(created.data, JSON.stringify(created.error));
    const expiresAt = Date.parse(created.data.cluster.expiresAt!);
    assert.ok(Math.abs(expiresAt - (Date.parse(created.data.cluster.createdAt) + 4_000)) < 1_000);
    assert.equal((await paddock.waitForOperation(created.data.operation.id)).state, 'succeeded');

    const audit = await waitFor(
      'the expiry to record the delete',
      async () => {
        const page = await paddock.request('GET', '/v1/admin/audit?action=expire');
        return page.body.items.length > 0 ? page.body.items : null;
      },
      30_000,
    );
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor, 'paddock-expiry');
    assert.equal(audit[0].target, '/v1/projects/web/clusters/ci-run');
    const deleteOp = await paddock.waitForOperation(audit[0].details.operationId, 60_000);
    assert.equal(deleteOp.type, 'delete-cluster');
    assert.equal(deleteOp.state, 'succeeded');
    assert.ok(Date.parse(deleteOp.createdAt) >= expiresAt, 'not deleted before its time');

    const cluster = await api.GET('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: 'ci-run' } },
    });
    assert.equal(cluster.data?.state, 'deleted');
    for (const type of ['clusters', 'nodepools', 'nodes'])
      assert.equal((await sim.rancher('GET', `/v3/${type}`)).body.data.length, 0, type);
    const deletes = await paddock.db.query(
      `SELECT count(*)::int AS n FROM operations WHERE cluster_id = $1 AND type = 'delete-cluster'`,
      [created.data.cluster.id],
    );
    assert.equal(deletes.rows[0].n, 1, 'two workers recorded one delete');
    const quota = (await api.GET('/v1/projects/{project}/quota', { params: { path: { project: 'web' } } }))
      .data!;
    assert.deepEqual([quota.clusters.used, quota.nodes.used, quota.clusters.reserved], [0, 0, 0]);
  });

  it('PATCH extends, shortens or clears the expiry; a past or missing expiresAt is a 400 naming it', async () => {
    const created = await create('web', clusterBody('long', { expiresAt: inSeconds(3600) }));
    assert.ok(created.data);
    const later = inSeconds(7200);
    const extended = await patch('web', 'long', later);
    assert.equal(extended.response.status, 200);
    // An expiry alone answers with the cluster (only an upgrade answers with an operation).
    assert.equal(
      extended.data && 'expiresAt' in extended.data ? extended.data.expiresAt : 'no cluster',
      later,
    );
    const metrics = await fetch(`${paddock.url}/metrics`).then((r) => r.text());
    assert.doesNotMatch(metrics, /paddock_clusters_expiring_soon\{project="web"\}/);
    const soon = await patch('web', 'long', inSeconds(1800));
    assert.equal(soon.response.status, 200);
    const counted = await fetch(`${paddock.url}/metrics`).then((r) => r.text());
    assert.match(counted, /paddock_clusters_expiring_soon\{project="web"\} 1/);
    const cleared = await patch('web', 'long', null);
    assert.equal(cleared.data && 'expiresAt' in cleared.data ? cleared.data.expiresAt : 'no cluster', null);
    const past = await patch('web', 'long', inSeconds(-60));
    assert.equal(past.response.status, 400);
    assert.equal(past.error?.errors?.[0].field, 'expiresAt');
    const missing = await api.PATCH('/v1/projects/{project}/clusters/{cluster}', {
      params: { path: { project: 'web', cluster: 'long' } },
      body: {} as { expiresAt: string },
    });
    assert.equal(missing.response.status, 400);
    const both = await create('web', clusterBody('both', { ttlSeconds: 60, expiresAt: inSeconds(60) }));
    assert.equal(both.response.status, 400);
    assert.equal(both.error?.errors?.[0].field, 'ttlSeconds');
    assert.equal((await paddock.waitForOperation(created.data.operation.id)).state, 'succeeded');
  });

  it("a project's maximum lifetime refuses longer lives (422 LIFETIME_EXCEEDED) and is the default expiry", async () => {
    const set = await api.PUT('/v1/admin/projects/{project}/quota', {
      params: { path: { project: 'capped' } },
      body: { clusters: 10, nodes: 100, maxClusterLifetimeSeconds: 3600 },
    });
    assert.equal(set.data?.maxClusterLifetimeSeconds, 3600);
    const tooLong = await create('capped', clusterBody('too-long', { ttlSeconds: 7200 }));
    assert.equal(tooLong.response.status, 422);
    assert.equal(tooLong.error?.code, 'LIFETIME_EXCEEDED');
    const nothing = await paddock.db.query(`SELECT count(*)::int AS n FROM clusters WHERE name = 'too-long'`);
    assert.equal(nothing.rows[0].n, 0, 'nothing written');

    const defaulted = await create('capped', clusterBody('defaulted'));
    assert.ok(defaulted.data);
    const { createdAt, expiresAt } = defaulted.data.cluster;
    // Both stamped during the create's request: the API's clock and the database's, a moment apart.
    assert.ok(Math.abs(Date.parse(expiresAt!) - Date.parse(createdAt) - 3600 * 1000) < 1_000);
    const cleared = await patch('capped', 'defaulted', null);
    assert.equal(cleared.response.status, 422);
    assert.equal(cleared.error?.code, 'LIFETIME_EXCEEDED');
    const beyond = await patch(
      'capped',
      'defaulted',
      new Date(Date.parse(createdAt) + 3601 * 1000).toISOString(),
    );
    assert.equal(beyond.response.status, 422);
    const shorter = await patch('capped', 'defaulted', inSeconds(600));
    assert.equal(shorter.response.status, 200);
    assert.equal((await paddock.waitForOperation(defaulted.data.operation.id)).state, 'succeeded');
  });
});
