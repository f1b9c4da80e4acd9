import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bearer, clusterBody, issueToken, startPaddock, TestPaddock } from '../support/paddock';
import { startTestS3, TestS3 } from '../support/s3';
import { startTestSimulator, TestSimulator } from '../support/simulator';

/** Rows and counters a plan must leave exactly as they were. */
async function footprint(paddock: TestPaddock) {
  const { rows } = await paddock.db.query(`
    SELECT (SELECT count(*) FROM clusters) AS clusters, (SELECT count(*) FROM node_pools) AS pools,
           (SELECT count(*) FROM operations) AS operations, (SELECT count(*) FROM outbox) AS outbox,
           (SELECT json_agg(json_build_array(name, clusters_count, nodes_count) ORDER BY name) FROM backends) AS backends,
           (SELECT json_agg(row_to_json(q)) FROM project_quotas q) AS quotas`);
  return rows[0];
}

describe('POST /v1/projects/{project}/clusters:plan', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let s3: TestS3;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    s3 = await startTestS3();
    // No worker: its status sync and probes call the simulator on their own schedule, and this
    // file asserts that a dry run makes no Rancher call at all.
    paddock = await startPaddock({ workers: 'none', env: s3.env });
    assert.equal((await paddock.registerBackend('plan-sim', sim, { region: 'tokyo' })).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'plans' })).status, 201);
    await sim.clearCalls();
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await s3?.close();
  });

  it('answers the placement, steps and Rancher calls of a create, and writes nothing', async () => {
    const before = await footprint(paddock);
    const planned = await paddock.request('POST', '/v1/projects/plans/clusters:plan', clusterBody('planned'));
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    assert.equal(planned.body.backend, 'plan-sim');
    assert.equal(planned.body.region, 'tokyo');
    assert.equal(planned.body.clusters, 1);
    assert.equal(planned.body.nodes, 3);
    assert.deepEqual(planned.body.steps, [
      'ensure-bucket',
      'create-cluster',
      'await-roles',
      'create-node-pool:control',
      'create-node-pool:workers',
      'await-active',
    ]);
    const writes = planned.body.rancherCalls.filter((c: { method: string }) => c.method !== 'GET');
    assert.deepEqual(
      writes.map((c: { method: string; path: string }) => `${c.method} ${c.path}`),
      ['POST /v3/clusters', 'POST /v3/nodepools', 'POST /v3/nodepools'],
    );
    // The bucket of the ensure-bucket step, looked up before it is made, as the S3 calls go.
    const bucket = `/${s3.env.PADDOCK_BACKUP_BUCKET_PREFIX}-{id}`;
    assert.deepEqual(
      planned.body.s3Calls.map((c: { method: string; path: string }) => `${c.method} ${c.path}`),
      [`HEAD ${bucket}`, `PUT ${bucket}`],
    );
    for (const call of planned.body.s3Calls) assert.ok(call.purpose.length > 0);
    assert.deepEqual(await footprint(paddock), before, 'a plan leaves no row and no counter behind');
    assert.deepEqual(await sim.calls(), [], 'a plan makes no Rancher call');
    assert.deepEqual(await s3.buckets(), [], 'a plan makes no bucket');
    // The create it describes still works afterwards (the name was not taken by the dry run).
    assert.equal(
      (await paddock.request('POST', '/v1/projects/plans/clusters', clusterBody('planned'))).status,
      202,
    );
  });

  it('works with an Idempotency-Key as without one, and still writes nothing', async () => {
    const before = await footprint(paddock);
    const headers = { 'idempotency-key': 'plan-with-a-key' };
    const planned = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('keyed'),
      headers,
    );
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    assert.equal(planned.body.steps.length, 6);
    const again = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('keyed'),
      headers,
    );
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, planned.body);
    assert.deepEqual(await footprint(paddock), before, 'a keyed plan leaves no row and no counter behind');
  });

  it('refuses exactly as a create would: bad body, quota, no backend', async () => {
    const invalid = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('Bad_Name'),
    );
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.code, 'VALIDATION_FAILED');

    assert.equal(
      (await paddock.request('PUT', '/v1/admin/projects/plans/quota', { clusters: 50, nodes: 2 })).status,
      200,
    );
    const overQuota = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('too-big'),
    );
    assert.equal(overQuota.status, 409);
    assert.equal(overQuota.body.code, 'QUOTA_EXCEEDED');
    assert.equal(
      (await paddock.request('PUT', '/v1/admin/projects/plans/quota', { clusters: 50, nodes: 1000 })).status,
      200,
    );

    const unknown = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('far', { region: 'osaka' }),
    );
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.code, 'REGION_UNKNOWN');

    const elsewhere = await whileDraining(() =>
      paddock.request('POST', '/v1/projects/plans/clusters:plan', clusterBody('far')),
    );
    assert.equal(elsewhere.status, 503);
    assert.equal(elsewhere.body.code, 'NO_BACKEND_AVAILABLE');
    assert.deepEqual(
      elsewhere.body.reasons,
      { 'plan-sim': 'state is draining' },
      'an admin sees why each backend was passed over',
    );
  });

  /** Runs `work` while the only backend drains (it takes no new cluster). */
  async function whileDraining<T>(work: () => Promise<T>): Promise<T> {
    assert.equal(
      (await paddock.request('PATCH', '/v1/admin/backends/plan-sim', { state: 'draining' })).status,
      200,
    );
    try {
      return await work();
    } finally {
      await paddock.request('PATCH', '/v1/admin/backends/plan-sim', { state: 'active' });
    }
  }

  it('shows members the region but neither backend names nor per-backend reasons', async () => {
    const ci = await issueToken(paddock, { subject: 'pipeline', role: 'ci', project: 'plans' });
    const planned = await paddock.request(
      'POST',
      '/v1/projects/plans/clusters:plan',
      clusterBody('ci-plan'),
      bearer(ci.secret),
    );
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    assert.equal(planned.body.backend, null);
    assert.equal(planned.body.region, 'tokyo');
    assert.deepEqual(planned.body.rancherCalls, []);
    assert.deepEqual(planned.body.s3Calls, [], 'the S3 store is the platform team business too');
    const refused = await whileDraining(() =>
      paddock.request('POST', '/v1/projects/plans/clusters:plan', clusterBody('ci-far'), bearer(ci.secret)),
    );
    assert.equal(refused.status, 503);
    assert.equal(refused.body.reasons, undefined);
    assert.match(refused.body.detail, /no backend can take this cluster/);
  });
});
