/**
 * The admin API: projects, and the backend registry — verified before it is saved, the token
 * write-only everywhere (answers and the database), deletion refused while clusters live on it.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiResponse, clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const BACKEND_KEYS = [
  'calls',
  'capacity',
  'cloudCredential',
  'clusters',
  'createdAt',
  'flavors',
  'health',
  'id',
  'kind',
  'kubernetesVersions',
  'labels',
  'lastSyncAt',
  'lastSyncError',
  'name',
  'nodes',
  'rancherVersion',
  'region',
  'state',
  'syncReport',
  'updatedAt',
  'url',
];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('admin API', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let secret = '';

  const backendCount = async () =>
    Number(
      (await paddock.db.query<{ n: string }>('select count(*) as n from backends where deleted_at is null'))
        .rows[0].n,
    );
  const registration = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    url: sim.url,
    token: sim.token,
    kind: 'rke1',
    region: 'tokyo',
    labels: { tier: 'gold' },
    capacity: { maxClusters: 10, maxNodes: 100 },
    flavors: { 'm1.large': { nodeTemplateId: sim.nodeTemplates[0].id } },
    ...extra,
  });
  const assertNoSecret = (response: ApiResponse, what: string) => {
    const text = JSON.stringify(response.body) + JSON.stringify([...response.headers.entries()]);
    assert.ok(!text.includes(secret), `${what} leaks the token secret`);
    assert.ok(!text.includes(sim.token), `${what} leaks the token`);
    assert.ok(!/"token"/.test(JSON.stringify(response.body)), `${what} has a token field`);
  };

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    secret = sim.token.split(':')[1];
    paddock = await startPaddock();
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  describe('projects', () => {
    it('creates a project (201) and refuses a duplicate (409 PROJECT_EXISTS)', async () => {
      const created = await paddock.request('POST', '/v1/admin/projects', { name: 'web' });
      assert.equal(created.status, 201);
      assert.deepEqual(Object.keys(created.body).sort(), ['createdAt', 'id', 'name']);
      assert.equal(created.body.name, 'web');
      assert.match(created.body.id, /^[0-9a-f-]{36}$/);
      assert.ok(Math.abs(Date.now() - Date.parse(created.body.createdAt)) < 10_000);

      const duplicate = await paddock.request('POST', '/v1/admin/projects', { name: 'web' });
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(duplicate.body, {
        type: 'https://paddock.dev/problems/project-exists',
        title: 'Conflict',
        status: 409,
        detail: "project 'web' already exists",
        code: 'PROJECT_EXISTS',
      });
      const { rows } = await paddock.db.query(`select count(*)::int as n from projects where name = 'web'`);
      assert.equal(rows[0].n, 1);
    });

    it('refuses a project name that is not a DNS label', async () => {
      for (const name of ['Web', '-web', 'a'.repeat(64), '', 42]) {
        const response = await paddock.request('POST', '/v1/admin/projects', { name });
        assert.equal(response.status, 400);
        assert.equal(response.body.code, 'VALIDATION_FAILED');
        assert.deepEqual([...new Set(response.body.errors.map((e: { field: string }) => e.field))], ['name']);
      }
      const extra = await paddock.request('POST', '/v1/admin/projects', { name: 'ok-name', owner: 'me' });
      assert.equal(extra.status, 400);
      assert.deepEqual(
        extra.body.errors.map((e: { field: string }) => e.field),
        ['owner'],
      );
    });

    it('lists projects by name with cursor pagination', async () => {
      const names = ['proj-c', 'proj-a', 'proj-e', 'proj-b', 'proj-d'];
      for (const name of names)
        assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: ApiResponse<{ items: Array<{ name: string }>; nextCursor: string | null }> =
          await paddock.request('GET', `/v1/admin/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200);
        assert.deepEqual(Object.keys(page.body).sort(), ['items', 'nextCursor']);
        sizes.push(page.body.items.length);
        seen.push(...page.body.items.map((p) => p.name));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ['proj-a', 'proj-b', 'proj-c', 'proj-d', 'proj-e', 'web']);
      assert.deepEqual(sizes, [2, 2, 2]);
      const all = await paddock.request('GET', '/v1/admin/projects');
      assert.equal(all.body.items.length, 6);
      assert.equal(all.body.nextCursor, null);
    });
  });

  describe('backends', () => {
    it('refuses a token the backend rejects: 422 BACKEND_VERIFICATION_FAILED, reason unauthorized, nothing saved', async () => {
      const wrong = `token-wrong:${'x'.repeat(54)}`;
      const response = await paddock.request(
        'POST',
        '/v1/admin/backends',
        registration('bad-token', { token: wrong }),
      );
      assert.equal(response.status, 422, JSON.stringify(response.body));
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(response.body, {
        type: 'https://paddock.dev/problems/backend-verification-failed',
        title: 'Unprocessable Content',
        status: 422,
        detail: 'the backend refused the token',
        code: 'BACKEND_VERIFICATION_FAILED',
        reason: 'unauthorized',
      });
      assert.ok(!JSON.stringify(response.body).includes('x'.repeat(54)));
      assert.equal(await backendCount(), 0);
    });

    it('refuses an unreachable URL with 422', async () => {
      const started = Date.now();
      const response = await paddock.request(
        'POST',
        '/v1/admin/backends',
        registration('nowhere', { url: `http://127.0.0.1:${await closedPort()}` }),
      );
      assert.equal(response.status, 422, JSON.stringify(response.body));
      assert.equal(response.body.code, 'BACKEND_VERIFICATION_FAILED');
      assert.equal(response.body.reason, 'network');
      assert.equal(response.body.detail, 'the backend is not reachable');
      assert.ok(Date.now() - started < 10_000);
      assert.equal(await backendCount(), 0);
    });

    it('refuses a flavor whose node template does not exist, naming the field', async () => {
      const response = await paddock.request(
        'POST',
        '/v1/admin/backends',
        registration('bad-flavor', {
          flavors: {
            'm1.large': { nodeTemplateId: sim.nodeTemplates[0].id },
            'm1.xlarge': { nodeTemplateId: 'cattle-global-nt:nt-nope0' },
          },
        }),
      );
      assert.equal(response.status, 422, JSON.stringify(response.body));
      assert.equal(response.body.code, 'BACKEND_VERIFICATION_FAILED');
      assert.deepEqual(response.body.errors, [
        {
          field: 'flavors.m1.xlarge.nodeTemplateId',
          message: 'node template cattle-global-nt:nt-nope0 does not exist on the backend',
        },
      ]);
      assert.equal(await backendCount(), 0);
    });

    it('refuses a malformed registration with 400 naming the fields', async () => {
      const response = await paddock.request(
        'POST',
        '/v1/admin/backends',
        registration('Bad_Name', {
          url: 'not a url',
          token: 'plain-secret',
          kind: 'rke9',
          capacity: { maxClusters: -1, maxNodes: 10 },
          flavors: { 'M1 Large': { nodeTemplateId: 'nope' } },
        }),
      );
      assert.equal(response.status, 400);
      assert.deepEqual(response.body.errors.map((e: { field: string }) => e.field).sort(), [
        'capacity.maxClusters',
        'kind',
        'name',
        'token',
        'url',
      ]);
      // The validation answer never echoes the token either.
      assert.ok(!JSON.stringify(response.body).includes('plain-secret'));
      assert.equal(await backendCount(), 0);
    });

    it('registers a verified backend and never shows or stores its token in plain text', async () => {
      const created = await paddock.request('POST', '/v1/admin/backends', registration('tokyo-1'));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assertNoSecret(created, 'POST');
      assert.deepEqual(Object.keys(created.body).sort(), BACKEND_KEYS);
      assert.equal(created.body.name, 'tokyo-1');
      assert.equal(created.body.url, sim.url);
      assert.equal(created.body.kind, 'rke1');
      assert.equal(created.body.region, 'tokyo');
      assert.deepEqual(created.body.labels, { tier: 'gold' });
      assert.deepEqual(created.body.capacity, { maxClusters: 10, maxNodes: 100 });
      assert.equal(created.body.state, 'active');
      assert.deepEqual(created.body.flavors, { 'm1.large': { nodeTemplateId: sim.nodeTemplates[0].id } });
      assert.equal(created.body.clusters, 0);
      assert.equal(created.body.nodes, 0);
      assert.equal(created.body.rancherVersion, 'v2.11.3');

      const duplicate = await paddock.request('POST', '/v1/admin/backends', registration('tokyo-1'));
      assert.equal(duplicate.status, 409);
      assert.equal(duplicate.body.code, 'BACKEND_EXISTS');
      assertNoSecret(duplicate, 'duplicate POST');

      const list = await paddock.request('GET', '/v1/admin/backends');
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.items.map((b: { name: string }) => b.name),
        ['tokyo-1'],
      );
      assert.equal(list.body.nextCursor, null);
      assertNoSecret(list, 'GET list');
      const one = await paddock.request('GET', '/v1/admin/backends/tokyo-1');
      assert.equal(one.status, 200);
      assertNoSecret(one, 'GET one');
      const patched = await paddock.request('PATCH', '/v1/admin/backends/tokyo-1', {
        capacity: { maxClusters: 20, maxNodes: 200 },
        labels: { tier: 'silver' },
      });
      assert.equal(patched.status, 200);
      assert.deepEqual(patched.body.capacity, { maxClusters: 20, maxNodes: 200 });
      assert.deepEqual(patched.body.labels, { tier: 'silver' });
      assertNoSecret(patched, 'PATCH');

      const { rows } = await paddock.db.query<{ token_ciphertext: string; whole: string }>(
        `select token_ciphertext, row_to_json(b)::text as whole from backends b where name = 'tokyo-1'`,
      );
      assert.equal(rows.length, 1);
      assert.ok(rows[0].token_ciphertext.length > 0);
      assert.ok(!rows[0].token_ciphertext.includes(secret), 'token_ciphertext holds the secret');
      assert.ok(
        !rows[0].token_ciphertext.includes(sim.token.split(':')[0]),
        'token_ciphertext holds the token name',
      );
      assert.ok(!rows[0].whole.includes(secret), 'the backend row holds the secret in plain text');
      assert.ok(
        !Buffer.from(rows[0].token_ciphertext, 'base64').toString('latin1').includes(secret),
        'the ciphertext is only base64 of the secret',
      );
    });

    it('re-verifies a new token on PATCH: a wrong one is refused and the old one stays', async () => {
      const before = (
        await paddock.db.query<{ t: string }>(
          `select token_ciphertext as t from backends where name = 'tokyo-1'`,
        )
      ).rows[0].t;
      const wrong = `token-wrong:${'y'.repeat(54)}`;
      const refused = await paddock.request('PATCH', '/v1/admin/backends/tokyo-1', { token: wrong });
      assert.equal(refused.status, 422);
      assert.equal(refused.body.code, 'BACKEND_VERIFICATION_FAILED');
      assert.equal(refused.body.reason, 'unauthorized');
      assert.ok(!JSON.stringify(refused.body).includes('y'.repeat(54)));
      assert.equal(
        (
          await paddock.db.query<{ t: string }>(
            `select token_ciphertext as t from backends where name = 'tokyo-1'`,
          )
        ).rows[0].t,
        before,
      );

      const badFlavor = await paddock.request('PATCH', '/v1/admin/backends/tokyo-1', {
        flavors: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-gone0' } },
      });
      assert.equal(badFlavor.status, 422);
      assert.deepEqual(
        badFlavor.body.errors.map((e: { field: string }) => e.field),
        ['flavors.m1.large.nodeTemplateId'],
      );
      assert.deepEqual((await paddock.request('GET', '/v1/admin/backends/tokyo-1')).body.flavors, {
        'm1.large': { nodeTemplateId: sim.nodeTemplates[0].id },
      });

      const unreachable = await paddock.request('PATCH', '/v1/admin/backends/tokyo-1', {
        url: `http://127.0.0.1:${await closedPort()}`,
      });
      assert.equal(unreachable.status, 422);
      assert.equal((await paddock.request('GET', '/v1/admin/backends/tokyo-1')).body.url, sim.url);

      const accepted = await paddock.request('PATCH', '/v1/admin/backends/tokyo-1', { token: sim.token });
      assert.equal(accepted.status, 200);
      assertNoSecret(accepted, 'PATCH token');
      const after = (
        await paddock.db.query<{ t: string }>(
          `select token_ciphertext as t from backends where name = 'tokyo-1'`,
        )
      ).rows[0].t;
      assert.ok(!after.includes(secret));
    });

    it('refuses to delete a backend with a live cluster (409 BACKEND_IN_USE), then deletes it (204 → 404)', async () => {
      const created = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('on-tokyo'));
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const inUse = await paddock.request('DELETE', '/v1/admin/backends/tokyo-1');
      assert.equal(inUse.status, 409);
      assert.equal(inUse.body.code, 'BACKEND_IN_USE');
      assert.equal((await paddock.request('GET', '/v1/admin/backends/tokyo-1')).status, 200);
      const listed = await paddock.request('GET', '/v1/admin/backends/tokyo-1');
      assert.equal(listed.body.clusters, 1);
      assert.equal(listed.body.nodes, 3);

      assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
      const deleted = await paddock.request('DELETE', '/v1/projects/web/clusters/on-tokyo');
      assert.equal(deleted.status, 202);
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');

      const removed = await paddock.request('DELETE', '/v1/admin/backends/tokyo-1');
      assert.equal(removed.status, 204);
      assert.equal(removed.body, '');
      assert.equal((await paddock.request('GET', '/v1/admin/backends/tokyo-1')).status, 404);
      assert.equal((await paddock.request('DELETE', '/v1/admin/backends/tokyo-1')).status, 404);
      assert.deepEqual((await paddock.request('GET', '/v1/admin/backends')).body.items, []);
      // With no backend left, a create has nowhere to go.
      const nowhere = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('orphan'));
      assert.equal(nowhere.status, 400);
      assert.deepEqual(
        nowhere.body.errors.map((e: { field: string }) => e.field),
        ['nodePools[0].flavor', 'nodePools[1].flavor'],
      );

      const again = await paddock.request('POST', '/v1/admin/backends', registration('tokyo-1'));
      assert.equal(again.status, 201, JSON.stringify(again.body));
      assert.notEqual(again.body.id, listed.body.id);
      assert.equal(again.body.clusters, 0);
    });

    it('lists backends with cursor pagination', async () => {
      for (const name of ['osaka-1', 'nagoya-1']) {
        assert.equal((await paddock.request('POST', '/v1/admin/backends', registration(name))).status, 201);
      }
      const first = await paddock.request('GET', '/v1/admin/backends?limit=2');
      assert.deepEqual(
        first.body.items.map((b: { name: string }) => b.name),
        ['nagoya-1', 'osaka-1'],
      );
      assert.equal(typeof first.body.nextCursor, 'string');
      const second = await paddock.request(
        'GET',
        `/v1/admin/backends?limit=2&cursor=${first.body.nextCursor}`,
      );
      assert.deepEqual(
        second.body.items.map((b: { name: string }) => b.name),
        ['tokyo-1'],
      );
      assert.equal(second.body.nextCursor, null);
      for (const page of [first, second]) assertNoSecret(page, 'GET page');
    });
  });
});
