/**
 * bull-board at /admin/queues over real HTTP: admins only (a bearer token, or a browser's Basic
 * credentials with the token as password), everyone else refused with problem details, the
 * queues Paddock runs listed, and no job edited through it (read-only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  addMember,
  bearer,
  issueToken,
  startPaddock,
  TEST_ADMIN_TOKEN,
  TestPaddock,
} from '../support/paddock';

describe('queue dashboard: /admin/queues', () => {
  let paddock: TestPaddock;
  let member: string;
  let adminApiToken: string;

  before(async () => {
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'qd' })).status, 201);
    await addMember(paddock, 'qd', 'dev@example.com');
    member = (await issueToken(paddock, { subject: 'dev@example.com', role: 'member' })).secret;
    adminApiToken = (await issueToken(paddock, { subject: 'sre@example.com', role: 'admin' })).secret;
  });

  after(() => paddock.close());

  const get = (path: string, authorization: string) =>
    fetch(`${paddock.url}${path}`, { headers: authorization ? { authorization } : {} });
  const basic = (password: string) => `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}`;

  it('without credentials: 401 problem details that make a browser ask for them', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/index.js']) {
      const response = await get(path, '');
      assert.equal(response.status, 401, path);
      assert.match(response.headers.get('www-authenticate') ?? '', /^Basic realm="Paddock queues"/);
      assert.match(response.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(((await response.json()) as { code: string }).code, 'UNAUTHENTICATED');
    }
  });

  it('a wrong token, as bearer or as Basic password: 401', async () => {
    assert.equal((await get('/admin/queues', 'Bearer pdk_not_a_real_token_0123456789')).status, 401);
    assert.equal((await get('/admin/queues', basic('wrong'))).status, 401);
    assert.equal((await get('/admin/queues', 'Basic !!!')).status, 401);
  });

  it('a member token: 403, as bearer and as Basic password', async () => {
    for (const authorization of [bearer(member).authorization, basic(member)]) {
      const response = await get('/admin/queues/api/queues', authorization);
      assert.equal(response.status, 403);
      assert.equal(((await response.json()) as { code: string }).code, 'FORBIDDEN');
    }
  });

  it("admins see the UI and Paddock's queues, read-only", async () => {
    for (const authorization of [
      bearer(TEST_ADMIN_TOKEN).authorization,
      basic(TEST_ADMIN_TOKEN),
      basic(adminApiToken),
    ]) {
      const page = await get('/admin/queues', authorization);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await page.text(), /Paddock queues|<div id="root">/);
    }
    const response = await get('/admin/queues/api/queues', bearer(TEST_ADMIN_TOKEN).authorization);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
    assert.deepEqual(body.queues.map((q) => q.name).sort(), [
      'backend-probes',
      'maintenance',
      'operations',
      'quota-reconcile',
      'status-sync',
    ]);
    assert.ok(body.queues.every((q) => q.readOnlyMode));
    const retry = await fetch(`${paddock.url}/admin/queues/api/queues/operations/retry/failed`, {
      method: 'PUT',
      headers: bearer(TEST_ADMIN_TOKEN),
    });
    assert.ok(retry.status >= 400 && retry.status < 500, `retry refused (${retry.status})`);
  });
});
