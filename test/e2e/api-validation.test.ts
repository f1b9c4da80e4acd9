/**
 * Bad input never writes anything: every refusal is a 400 problem-details answer naming each bad
 * field, and the tables a create touches hold exactly what they held before. Also the 404s for
 * things that do not exist and the 401s for callers without a valid token.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ApiResponse, clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROBLEM_KEYS = ['code', 'detail', 'errors', 'status', 'title', 'type'];
const WRITTEN_TABLES = [
  'clusters',
  'node_pools',
  'operations',
  'operation_steps',
  'outbox',
  'idempotency_keys',
  'projects',
];

describe('API input validation and access', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;

  async function counts(): Promise<Record<string, number>> {
    const result: Record<string, number> = {};
    for (const table of WRITTEN_TABLES) {
      const { rows } = await paddock.db.query<{ n: string }>(`select count(*) as n from ${table}`);
      result[table] = Number(rows[0].n);
    }
    return result;
  }

  /** Sends the request and asserts a 400 VALIDATION_FAILED naming exactly `fields`, with nothing written. */
  async function expectValidation(
    method: string,
    path: string,
    body: unknown,
    fields: string[],
    headers: Record<string, string> = {},
  ): Promise<ApiResponse> {
    const before = await counts();
    const response = await paddock.request(method, path, body, headers);
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.deepEqual(Object.keys(response.body).sort(), PROBLEM_KEYS);
    assert.equal(response.body.type, 'https://paddock.dev/problems/validation-failed');
    assert.equal(response.body.title, 'Bad Request');
    assert.equal(response.body.status, 400);
    assert.equal(response.body.code, 'VALIDATION_FAILED');
    assert.equal(typeof response.body.detail, 'string');
    for (const error of response.body.errors) {
      assert.deepEqual(Object.keys(error).sort(), ['field', 'message']);
      assert.equal(typeof error.message, 'string');
      assert.ok(error.message.length > 0);
    }
    const named = [...new Set<string>(response.body.errors.map((e: { field: string }) => e.field))].sort();
    assert.deepEqual(named, [...fields].sort(), JSON.stringify(response.body.errors));
    assert.deepEqual(await counts(), before, 'a refused request wrote rows');
    return response;
  }

  const create = (body: unknown) => ['POST', '/v1/projects/web/clusters', body] as const;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
    const created = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('existing'));
    assert.equal(created.status, 202);
    assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  describe('create cluster body', () => {
    it('refuses a name that is not a DNS label', async () => {
      for (const name of ['Web-Prod', 'a'.repeat(64), '-web', 'web-', 'web_prod', '']) {
        const response = await expectValidation(...create(clusterBody(name)), ['name']);
        assert.match(response.body.errors[0].message, /DNS label/);
      }
    });

    it('accepts a 63-character name (the boundary)', async () => {
      const name = 'a'.repeat(63);
      const response = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody(name));
      assert.equal(response.status, 202, JSON.stringify(response.body));
      assert.equal(response.body.cluster.name, name);
      assert.equal((await paddock.waitForOperation(response.body.operation.id)).state, 'succeeded');
    });

    it('refuses a missing name', async () => {
      const { name: _name, ...body } = clusterBody('x');
      await expectValidation(...create(body), ['name']);
    });

    it('refuses an unknown role', async () => {
      const body = clusterBody('bad-role');
      body.nodePools = [
        { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
        { name: 'workers', roles: ['worker', 'master'], quantity: 1, flavor: 'm1.large' },
      ];
      const response = await expectValidation(...create(body), ['nodePools[1].roles']);
      assert.equal(response.body.errors[0].message, 'each role must be one of etcd, controlplane, worker');
    });

    it('refuses quantities that are zero, too big, fractional or strings', async () => {
      for (const quantity of [0, 501, 1.5, '3', -1, null]) {
        const body = clusterBody('bad-quantity');
        (body.nodePools as Array<Record<string, unknown>>)[1].quantity = quantity;
        await expectValidation(...create(body), ['nodePools[1].quantity']);
      }
    });

    it('accepts the quantity bounds 1 and 500', async () => {
      // Validation runs before the project lookup, so an unknown project answering 404 (not 400)
      // shows the body passed, without putting 500 nodes on the simulator.
      const body = clusterBody('bounds');
      (body.nodePools as Array<Record<string, unknown>>)[0].quantity = 1;
      (body.nodePools as Array<Record<string, unknown>>)[1].quantity = 500;
      const response = await paddock.request('POST', '/v1/projects/nope/clusters', body);
      assert.equal(response.status, 404, JSON.stringify(response.body));
      assert.equal(response.body.code, 'NOT_FOUND');
    });

    it('refuses a flavor no backend offers', async () => {
      const body = clusterBody('bad-flavor');
      (body.nodePools as Array<Record<string, unknown>>)[1].flavor = 'm9.huge';
      const response = await expectValidation(...create(body), ['nodePools[1].flavor']);
      assert.equal(response.body.errors[0].message, "flavor 'm9.huge' is not offered by any backend");
    });

    it('refuses a cluster without etcd, controlplane or worker', async () => {
      const cases: Array<[string[][], string]> = [
        [[['controlplane'], ['worker']], 'etcd'],
        [[['etcd'], ['worker']], 'controlplane'],
        [[['etcd', 'controlplane'], ['etcd']], 'worker'],
      ];
      for (const [roles, missing] of cases) {
        const body = clusterBody('missing-role', {
          nodePools: roles.map((r, i) => ({ name: `pool-${i}`, roles: r, quantity: 1, flavor: 'm1.large' })),
        });
        const response = await expectValidation(...create(body), ['nodePools']);
        assert.match(response.body.errors[0].message, new RegExp(`no pool has ${missing}$`));
      }
    });

    it('refuses duplicate pool names', async () => {
      const body = clusterBody('dup-pools', {
        nodePools: [
          { name: 'all', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
          { name: 'all', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
        ],
      });
      const response = await expectValidation(...create(body), ['nodePools[1].name']);
      assert.equal(response.body.errors[0].message, "pool name 'all' is used twice");
    });

    it('refuses an empty or missing nodePools', async () => {
      await expectValidation(...create(clusterBody('no-pools', { nodePools: [] })), ['nodePools']);
      const { nodePools: _pools, ...body } = clusterBody('no-pools');
      await expectValidation(...create(body), ['nodePools']);
    });

    it('refuses unknown fields, top-level and inside a pool', async () => {
      const response = await expectValidation(...create(clusterBody('unknown-field', { replicas: 3 })), [
        'replicas',
      ]);
      assert.equal(response.body.errors[0].message, 'replicas is not a known field');
      const body = clusterBody('unknown-field');
      (body.nodePools as Array<Record<string, unknown>>)[0].diskGb = 100;
      await expectValidation(...create(body), ['nodePools[0].diskGb']);
    });

    it('refuses a malformed JSON body with a 400 problem', async () => {
      const before = await counts();
      const response = await paddock.request(
        'POST',
        '/v1/projects/web/clusters',
        '{"name": "web-prod", "nodePools": [',
      );
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(response.body.status, 400);
      assert.equal(response.body.code, 'BAD_REQUEST');
      assert.deepEqual(await counts(), before);
    });

    it('refuses a bad kubernetesVersion', async () => {
      // `v1.30` is valid (the newest patch on offer); a backend's own spelling is not.
      for (const kubernetesVersion of [
        '1.30.4',
        'v1.30.4.1',
        'v1.30.4-rancher1-1',
        'v1.30.4+rke2r1',
        'latest',
        130,
      ]) {
        const response = await expectValidation(
          ...create(clusterBody('bad-version', { kubernetesVersion })),
          ['kubernetesVersion'],
        );
        assert.ok(
          response.body.errors.some(
            (e: { message: string }) =>
              e.message ===
              'kubernetesVersion must look like v1.30.4 (or v1.30 for the newest patch on offer)',
          ),
        );
      }
    });

    it('refuses labels with a non-string value, and labels that are not an object', async () => {
      await expectValidation(...create(clusterBody('bad-labels', { labels: { team: 5, tier: 'web' } })), [
        'labels.team',
      ]);
      await expectValidation(...create(clusterBody('bad-labels', { labels: { nested: { a: 'b' } } })), [
        'labels.nested',
      ]);
      await expectValidation(...create(clusterBody('bad-labels', { labels: ['team'] })), ['labels']);
    });

    it('names every bad field of one body', async () => {
      const body = {
        name: 'Bad_Name',
        kubernetesVersion: 'latest',
        surprise: true,
        nodePools: [
          { name: 'Control', roles: ['etcd', 'boss'], quantity: 0, flavor: 'm1.large' },
          { name: 'workers', roles: ['worker'], quantity: 'two', flavor: 'm1.large' },
        ],
      };
      await expectValidation(...create(body), [
        'name',
        'kubernetesVersion',
        'surprise',
        'nodePools[0].name',
        'nodePools[0].roles',
        'nodePools[0].quantity',
        'nodePools[1].quantity',
      ]);
      // The checks that need the database (flavors, roles across pools, duplicates) also report together.
      await expectValidation(
        ...create({
          name: 'several',
          labels: { ok: 'yes', bad: 1 },
          nodePools: [
            { name: 'a', roles: ['etcd'], quantity: 1, flavor: 'm9.huge' },
            { name: 'a', roles: ['etcd'], quantity: 1, flavor: 'm1.large' },
          ],
        }),
        ['nodePools[1].name', 'nodePools', 'labels.bad', 'nodePools[0].flavor'],
      );
    });

    it('validates the body before looking up the project', async () => {
      await expectValidation('POST', '/v1/projects/nope/clusters', clusterBody('Bad'), ['name']);
    });
  });

  describe('node pool bodies', () => {
    it('refuses a bad added pool', async () => {
      await expectValidation(
        'POST',
        '/v1/projects/web/clusters/existing/node-pools',
        { name: 'Extra', roles: ['gpu'], quantity: 0, flavor: 'm1.large', spot: true },
        ['name', 'roles', 'quantity', 'spot'],
      );
    });

    it('refuses an added pool with a flavor the cluster backend lacks', async () => {
      await expectValidation(
        'POST',
        '/v1/projects/web/clusters/existing/node-pools',
        { name: 'extra', roles: ['worker'], quantity: 1, flavor: 'm9.huge' },
        ['flavor'],
      );
    });

    it('refuses a bad scale', async () => {
      for (const body of [
        { quantity: 0 },
        { quantity: 501 },
        { quantity: 2.5 },
        { quantity: '2' },
        {},
        { quantity: 2, extra: 1 },
      ]) {
        const fields = 'extra' in body ? ['extra'] : ['quantity'];
        await expectValidation(
          'PATCH',
          '/v1/projects/web/clusters/existing/node-pools/workers',
          body,
          fields,
        );
      }
    });

    it('refuses a malformed Idempotency-Key', async () => {
      await expectValidation(
        'PATCH',
        '/v1/projects/web/clusters/existing/node-pools/workers',
        { quantity: 2 },
        ['Idempotency-Key'],
        { 'idempotency-key': 'a'.repeat(256) },
      );
    });
  });

  describe('list parameters', () => {
    it('refuses limit 0, 501, non-numbers and a bad cursor', async () => {
      for (const path of [
        '/v1/projects/web/clusters',
        '/v1/admin/projects',
        '/v1/admin/backends',
        '/v1/projects/web/clusters/existing/nodes',
      ]) {
        await expectValidation('GET', `${path}?limit=0`, undefined, ['limit']);
        await expectValidation('GET', `${path}?limit=501`, undefined, ['limit']);
        await expectValidation('GET', `${path}?limit=ten`, undefined, ['limit']);
        await expectValidation('GET', `${path}?limit=1.5`, undefined, ['limit']);
        await expectValidation('GET', `${path}?cursor=not-a-cursor`, undefined, ['cursor']);
        // Valid base64url of valid JSON, but not a cursor we issued.
        const forged = Buffer.from(JSON.stringify({ name: 'x' })).toString('base64url');
        await expectValidation('GET', `${path}?cursor=${forged}`, undefined, ['cursor']);
      }
    });

    it('accepts limit 1 and 500', async () => {
      for (const limit of [1, 500]) {
        const response = await paddock.request('GET', `/v1/projects/web/clusters?limit=${limit}`);
        assert.equal(response.status, 200);
        assert.ok(response.body.items.length <= limit);
      }
    });

    it('refuses an unknown state filter and unknown query parameters', async () => {
      await expectValidation('GET', '/v1/projects/web/clusters?state=running', undefined, ['state']);
      await expectValidation('GET', '/v1/projects/web/clusters?sort=name', undefined, ['sort']);
    });

    it('refuses a bad waitSeconds', async () => {
      const { rows } = await paddock.db.query<{ id: string }>('select id from operations limit 1');
      for (const wait of ['-1', '61', 'soon', '1.5']) {
        await expectValidation('GET', `/v1/operations/${rows[0].id}?waitSeconds=${wait}`, undefined, [
          'waitSeconds',
        ]);
      }
    });
  });

  describe('not found', () => {
    const expectNotFound = async (method: string, path: string, body?: unknown) => {
      const before = await counts();
      const response = await paddock.request(method, path, body);
      assert.equal(response.status, 404, `${method} ${path}: ${JSON.stringify(response.body)}`);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(response.body.code, 'NOT_FOUND');
      assert.equal(response.body.status, 404);
      assert.equal(response.body.title, 'Not Found');
      assert.deepEqual(await counts(), before);
      return response;
    };

    it('answers 404 for an unknown project on every project route', async () => {
      const response = await expectNotFound('GET', '/v1/projects/nope/clusters');
      assert.equal(response.body.detail, "project 'nope' does not exist");
      await expectNotFound('POST', '/v1/projects/nope/clusters', clusterBody('fine'));
      await expectNotFound('GET', '/v1/projects/nope/clusters/existing');
      await expectNotFound('DELETE', '/v1/projects/nope/clusters/existing');
      await expectNotFound('GET', '/v1/projects/nope/clusters/existing/kubeconfig');
      await expectNotFound('GET', '/v1/projects/nope/clusters/existing/nodes');
      await expectNotFound('PATCH', '/v1/projects/nope/clusters/existing/node-pools/workers', {
        quantity: 2,
      });
    });

    it('answers 404 for an unknown cluster', async () => {
      const response = await expectNotFound('GET', '/v1/projects/web/clusters/ghost');
      assert.equal(response.body.detail, "cluster 'ghost' does not exist");
      await expectNotFound('DELETE', '/v1/projects/web/clusters/ghost');
      await expectNotFound('GET', '/v1/projects/web/clusters/ghost/kubeconfig');
      await expectNotFound('GET', '/v1/projects/web/clusters/ghost/nodes');
      await expectNotFound('POST', '/v1/projects/web/clusters/ghost/node-pools', {
        name: 'x',
        roles: ['worker'],
        quantity: 1,
        flavor: 'm1.large',
      });
      await expectNotFound('PATCH', '/v1/projects/web/clusters/ghost/node-pools/workers', { quantity: 2 });
      await expectNotFound('DELETE', '/v1/projects/web/clusters/ghost/node-pools/workers');
    });

    it('answers 404 for an unknown pool', async () => {
      const response = await expectNotFound('PATCH', '/v1/projects/web/clusters/existing/node-pools/ghost', {
        quantity: 2,
      });
      assert.equal(response.body.detail, "node pool 'ghost' does not exist");
      await expectNotFound('DELETE', '/v1/projects/web/clusters/existing/node-pools/ghost');
    });

    it('answers 404 for an unknown operation, uuid or not', async () => {
      const id = randomUUID();
      const response = await expectNotFound('GET', `/v1/operations/${id}`);
      assert.equal(response.body.detail, `operation '${id}' does not exist`);
      await expectNotFound('GET', `/v1/operations/${id}?waitSeconds=2`);
      await expectNotFound('GET', '/v1/operations/not-a-uuid');
      await expectNotFound('GET', "/v1/operations/1'%20or%20'1'='1");
    });

    it('answers 404 for an unknown backend and an unknown route', async () => {
      await expectNotFound('GET', '/v1/admin/backends/ghost');
      await expectNotFound('PATCH', '/v1/admin/backends/ghost', { state: 'draining' });
      await expectNotFound('DELETE', '/v1/admin/backends/ghost');
      await expectNotFound('GET', '/v1/nothing-here');
    });
  });

  describe('authentication', () => {
    const raw = (path: string, init: RequestInit = {}) => fetch(`${paddock.url}${path}`, init);

    it('answers 401 UNAUTHENTICATED without a token or with a wrong one', async () => {
      const before = await counts();
      const attempts: Array<Record<string, string>> = [
        {},
        { authorization: 'Bearer wrong-token' },
        { authorization: `Bearer ${paddock.config.adminToken}x` },
        { authorization: `Basic ${Buffer.from(`admin:${paddock.config.adminToken}`).toString('base64')}` },
        { authorization: 'Bearer' },
      ];
      for (const headers of attempts) {
        for (const [method, path] of [
          ['GET', '/v1/admin/projects'],
          ['GET', '/v1/projects/web/clusters'],
          ['POST', '/v1/projects/web/clusters'],
          ['GET', '/v1/admin/backends'],
          ['GET', `/v1/operations/${randomUUID()}`],
        ]) {
          const response = await raw(path, {
            method,
            headers: { ...headers, 'content-type': 'application/json' },
            body: method === 'POST' ? JSON.stringify(clusterBody('sneaky')) : undefined,
          });
          assert.equal(response.status, 401, `${method} ${path} with ${JSON.stringify(headers)}`);
          assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
          const body = (await response.json()) as { code: string; status: number };
          assert.equal(body.code, 'UNAUTHENTICATED');
          assert.equal(body.status, 401);
        }
      }
      assert.deepEqual(await counts(), before);
    });

    it('answers 401 (not 404) for an unknown project without a token', async () => {
      const response = await raw('/v1/projects/nope/clusters');
      assert.equal(response.status, 401);
    });

    it('serves health, readiness and the docs without a token', async () => {
      const healthz = await raw('/healthz');
      assert.equal(healthz.status, 200);
      assert.deepEqual(await healthz.json(), { status: 'ok' });
      const readyz = await raw('/readyz');
      assert.equal(readyz.status, 200);
      assert.deepEqual(await readyz.json(), { status: 'ok', checks: { postgres: 'up', redis: 'up' } });
      const docs = await raw('/docs');
      assert.equal(docs.status, 200);
      assert.match(docs.headers.get('content-type') ?? '', /text\/html/);
      const openapi = await raw('/openapi.json');
      assert.equal(openapi.status, 200);
      const document = (await openapi.json()) as { openapi: string };
      assert.match(document.openapi, /^3\./);
      const admin = await raw('/v1/admin/projects');
      assert.equal(admin.status, 401);
    });

    it('gives every route of the v1 contract an operationId', async () => {
      const document = (await (await raw('/openapi.json')).json()) as {
        paths?: Record<string, Record<string, { operationId?: string }>>;
      };
      const routes: Array<[string, string]> = [
        ['post', '/v1/projects/{project}/clusters'],
        ['get', '/v1/projects/{project}/clusters'],
        ['get', '/v1/projects/{project}/clusters/{cluster}'],
        ['delete', '/v1/projects/{project}/clusters/{cluster}'],
        ['get', '/v1/projects/{project}/clusters/{cluster}/kubeconfig'],
        ['post', '/v1/projects/{project}/clusters/{cluster}/node-pools'],
        ['patch', '/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}'],
        ['delete', '/v1/projects/{project}/clusters/{cluster}/node-pools/{pool}'],
        ['get', '/v1/projects/{project}/clusters/{cluster}/nodes'],
        ['get', '/v1/operations/{operation}'],
        ['post', '/v1/admin/backends'],
        ['get', '/v1/admin/backends'],
        ['get', '/v1/admin/backends/{backend}'],
        ['patch', '/v1/admin/backends/{backend}'],
        ['delete', '/v1/admin/backends/{backend}'],
        ['post', '/v1/admin/projects'],
        ['get', '/v1/admin/projects'],
        ['get', '/healthz'],
        ['get', '/readyz'],
      ];
      const ids: string[] = [];
      for (const [method, path] of routes) {
        const operation = document.paths?.[path]?.[method];
        assert.ok(operation, `${method.toUpperCase()} ${path} is missing from the document`);
        assert.match(
          operation.operationId ?? '',
          /^[a-z][A-Za-z]+$/,
          `${method.toUpperCase()} ${path} has no operationId`,
        );
        ids.push(operation.operationId ?? '');
      }
      assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    });
  });
});
