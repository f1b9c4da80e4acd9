/**
 * Nothing of Rancher reaches a user: every non-admin route in openapi.json is called as a project
 * member (successes and refusals alike), including an operation that failed on a Rancher error
 * and a cluster whose backend conditions name Rancher ids and URLs, and no answer (body or
 * header) contains the backend's URL, its token, or a Rancher object id. Admins, who may see
 * backend details, still get the raw error (which proves the sweep reached the leaky data).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RANCHER_OBJECT_ID } from '../../src/rancher-backends/rancher-identifiers';
import {
  addMember,
  bearer,
  clusterBody,
  issueToken,
  startPaddock,
  TestPaddock,
  waitFor,
} from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { createActiveCluster } from '../support/kube';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

interface OpenApi {
  paths: Record<string, Record<string, { operationId: string }>>;
}

/** Request bodies for the routes that take one; any other route gets `{}` (a 400 is swept too). */
const BODIES: Record<string, unknown> = {
  createCluster: clusterBody('sweep-new'),
  planCluster: clusterBody('sweep-plan'),
  addNodePool: { name: 'extra', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
  scaleNodePool: { quantity: 3 },
};

describe('kube access: no Rancher URL, token or id in any non-admin answer', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;
  let member: string;
  let failedOperationId: string;
  let failedScaleId: string;
  const seen: Array<{ route: string; status: number; text: string }> = [];

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
    await addMember(paddock, 'web', 'alice');
    member = (await issueToken(paddock, { subject: 'alice', role: 'member' })).secret;
    const cluster = await createActiveCluster(paddock, 'web', 'sweep-a');
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [cluster.id]))
      .rows[0].rancher_id as string;
    // Backend text that names Rancher: a condition message and a node message.
    await sim.setCondition({
      type: 'cluster',
      id: rancherId,
      condition: {
        type: 'Updated',
        status: 'False',
        message: `waiting for ${rancherId} at ${sim.url}/v3/clusters/${rancherId}`,
      },
    });
    const node = (await sim.rancher('GET', `/v3/nodes?clusterId=${rancherId}`)).body.data[0];
    await sim.setCondition({
      type: 'node',
      id: node.id,
      condition: { type: 'Ready', status: 'False', message: `node ${node.id} of ${rancherId} is gone` },
    });
    // An operation that fails on a Rancher error naming its path: every pool create is refused.
    await sim.faults.add({ method: 'POST', path: '^/v3/nodepools', status: 422, times: 1000 });
    const doomed = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('sweep-failed'));
    assert.equal(doomed.status, 202);
    failedOperationId = doomed.body.operation.id;
    assert.equal((await paddock.waitForOperation(failedOperationId, 60_000)).state, 'failed');
    await sim.faults.clear();
    // A scale that fails on a Rancher error naming the pool's Rancher id (`PUT /v3/nodepools/c-…:np-…`).
    await sim.faults.add({ method: 'PUT', path: '^/v3/nodepools/', status: 422, times: 1 });
    const scale = await paddock.request('PATCH', '/v1/projects/web/clusters/sweep-a/node-pools/workers', {
      quantity: 4,
    });
    assert.equal(scale.status, 202, JSON.stringify(scale.body));
    failedScaleId = scale.body.id;
    assert.equal((await paddock.waitForOperation(failedScaleId, 60_000)).state, 'failed');
    await sim.faults.clear();
    await waitFor('the sync to mirror the injected messages', async () => {
      const got = await paddock.request('GET', '/v1/projects/web/clusters/sweep-a');
      return got.body.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Updated' && c.status === 'False',
      );
    });
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('admins still see the raw backend error of the failed operation', async () => {
    const raw = await paddock.request('GET', `/v1/operations/${failedOperationId}`);
    assert.equal(raw.body.error.code, 'BACKEND_REJECTED');
    assert.match(JSON.stringify(raw.body), /\/v3\/nodepools/);
    const scale = await paddock.request('GET', `/v1/operations/${failedScaleId}`);
    assert.ok(
      new RegExp(RANCHER_OBJECT_ID.source).test(JSON.stringify(scale.body)),
      `the raw error names a Rancher id: ${JSON.stringify(scale.body)}`,
    );
  });

  it('every non-admin route answers a member without the backend URL, token or a Rancher id', async () => {
    const spec = JSON.parse(
      readFileSync(join(__dirname, '..', '..', '..', 'openapi.json'), 'utf8'),
    ) as OpenApi;
    const params: Record<string, string> = {
      project: 'web',
      cluster: 'sweep-a',
      pool: 'workers',
      operation: failedOperationId,
      // No backups here (no S3 store): the backup routes answer their refusals.
      backup: 'no-such-backup',
      // No catalog, no registrations and no such node: those routes answer their refusals.
      addon: 'no-such-addon',
      registration: 'no-such-registration',
      node: 'no-such-node',
    };
    const routes = Object.entries(spec.paths)
      .filter(([path]) => path.startsWith('/v1/') && !path.startsWith('/v1/admin'))
      .flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    // Reads first, then changes, deletes last, so each route meets the data while it exists.
    const order = (method: string) => ({ get: 0, post: 1, patch: 2, delete: 3 })[method] ?? 1;
    routes.sort((a, b) => order(a.method) - order(b.method));
    assert.ok(routes.length >= 10, `only ${routes.length} routes found`);
    for (const { path, method, op } of routes) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
        assert.ok(params[name], `no value for {${name}} in ${path}`);
        return params[name];
      });
      const body = method === 'get' || method === 'delete' ? undefined : (BODIES[op.operationId] ?? {});
      const response = await paddock.request(method.toUpperCase(), url, body, bearer(member));
      const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
      const text = `${headers}\n${typeof response.body === 'string' ? response.body : JSON.stringify(response.body)}`;
      seen.push({ route: `${method.toUpperCase()} ${url}`, status: response.status, text });
    }
    // The operation with extra waiting, and the list filtered by state.
    for (const url of [
      `/v1/operations/${failedOperationId}?waitSeconds=1`,
      `/v1/operations/${failedScaleId}`,
      '/v1/projects/web/clusters?state=failed',
    ]) {
      const response = await paddock.request('GET', url, undefined, bearer(member));
      seen.push({ route: `GET ${url}`, status: response.status, text: JSON.stringify(response.body) });
    }

    const rancherIds = new Set<string>();
    for (const type of ['clusters', 'nodepools', 'nodes', 'nodetemplates']) {
      for (const item of (await sim.rancher('GET', `/v3/${type}`)).body.data as Array<{ id: string }>) {
        rancherIds.add(item.id);
        for (const part of item.id.split(':')) rancherIds.add(part);
      }
    }
    assert.ok(rancherIds.size > 4);
    const backend = new URL(sim.url);
    const forbidden = [sim.url, backend.host, sim.token, sim.token.split(':')[0], ...rancherIds];
    // Rancher object ids, and Rancher API paths (driver errors say `POST /v3/nodepools: …`).
    const pattern = new RegExp(`${RANCHER_OBJECT_ID.source}|/v3\\b|/k8s/clusters/(?!${UUID})`);
    const leaks = seen.flatMap(({ route, status, text }) => [
      ...forbidden
        .filter((needle) => text.includes(needle))
        .map((needle) => `${route} (${status}): ${needle}`),
      ...(pattern.test(text) ? [`${route} (${status}): ${pattern.exec(text)?.[0]}`] : []),
    ]);
    assert.deepEqual(leaks, []);
    // The sweep saw the leaky data: the failed operation, the conditions and the kubeconfig.
    for (const id of [failedOperationId, failedScaleId]) {
      const operation = seen.find((s) => s.route === `GET /v1/operations/${id}`);
      assert.match(operation?.text ?? '', /BACKEND_REJECTED/);
    }
    assert.ok(seen.some((s) => s.route.endsWith('/kubeconfig') && s.status === 200));
    assert.ok(
      seen.some((s) => s.route === 'GET /v1/projects/web/clusters/sweep-a' && /"Updated"/.test(s.text)),
    );
  });
});
