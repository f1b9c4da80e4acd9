/**
 * The audit log: every mutating request — allowed, refused, unauthenticated; user and admin — is
 * one row with actor, role, project, action, target, outcome and request id, and never a secret;
 * reads are not recorded; `GET /v1/admin/audit` filters and pages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
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

describe('audit log', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let member: { secret: string; id: string };
  let tokenSecret: string;
  const since = new Date(Date.now() - 1_000).toISOString();

  /** The audit rows, once `n` exist (they are written right after each answer is sent). */
  const events = async (query: string, n: number) =>
    waitFor(`${n} audit events for ${query}`, async () => {
      const response = await paddock.request('GET', `/v1/admin/audit?${query}`);
      assert.equal(response.status, 200);
      return response.body.items.length >= n ? response.body.items : null;
    });

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'audited' })).status, 201);
    await addMember(paddock, 'audited', 'erin');
    member = await issueToken(paddock, { subject: 'erin', role: 'member' });
    tokenSecret = (await issueToken(paddock, { subject: 'ci-audited', role: 'ci', project: 'audited' }))
      .secret;
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('records a member create with who, where, what, the outcome and the request id', async () => {
    const created = await paddock.request('POST', '/v1/projects/audited/clusters', clusterBody('web-1'), {
      ...bearer(member.secret),
      'x-request-id': 'req-audit-1',
    });
    assert.equal(created.status, 202);
    const [event] = await events('actor=erin&action=createCluster', 1);
    assert.deepEqual(
      { ...event, id: undefined, at: undefined },
      {
        id: undefined,
        at: undefined,
        actor: 'erin',
        role: 'member',
        credentialId: `token:${member.id}`,
        project: 'audited',
        action: 'createCluster',
        method: 'POST',
        target: '/v1/projects/audited/clusters/web-1',
        status: 202,
        code: null,
        requestId: 'req-audit-1',
        details: null,
        source: '127.0.0.1',
        occurrences: 1,
      },
    );
  });

  it('records refusals and failures with their problem code, including unauthenticated calls', async () => {
    const conflict = await paddock.request(
      'POST',
      '/v1/projects/audited/clusters',
      clusterBody('web-1'),
      bearer(member.secret),
    );
    assert.equal(conflict.status, 409);
    const hidden = await paddock.request(
      'DELETE',
      '/v1/projects/other/clusters/x',
      undefined,
      bearer(member.secret),
    );
    assert.equal(hidden.status, 404);
    const anonymous = await paddock.request('DELETE', '/v1/projects/audited/clusters/web-1', undefined, {
      authorization: '',
    });
    assert.equal(anonymous.status, 401);
    const forbidden = await paddock.request(
      'POST',
      '/v1/admin/projects',
      { name: 'nope' },
      bearer(member.secret),
    );
    assert.equal(forbidden.status, 403);

    const mine = await events('actor=erin', 4);
    assert.deepEqual(
      mine
        .slice(0, 3)
        .map((e: { action: string; status: number; code: string | null; project: string | null }) => [
          e.action,
          e.status,
          e.code,
          e.project,
        ]),
      [
        ['createProject', 403, 'FORBIDDEN', null],
        ['deleteCluster', 404, 'NOT_FOUND', 'other'],
        ['createCluster', 409, 'CLUSTER_EXISTS', 'audited'],
      ],
    );
    const [anon] = await events('actor=anonymous', 1);
    assert.deepEqual(
      [anon.action, anon.status, anon.code, anon.role],
      ['deleteCluster', 401, 'UNAUTHENTICATED', null],
    );
  });

  it('records admin changes but never a secret, and no reads', async () => {
    const tokens = await events('action=createToken', 2);
    assert.ok(
      tokens.every(
        (e: { actor: string; role: string }) => e.actor === 'bootstrap-admin' && e.role === 'admin',
      ),
    );
    assert.equal((await events('action=createToken&project=audited', 1)).length, 1);
    const { rows } = await paddock.db.query(`SELECT row_to_json(a)::text AS whole FROM audit_events a`);
    for (const { whole } of rows) {
      assert.ok(!whole.includes(tokenSecret) && !whole.includes(member.secret), `secret in ${whole}`);
      assert.ok(!whole.includes(sim.token), `backend token in ${whole}`);
    }
    const { rows: reads } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE method = 'GET'`,
    );
    assert.equal(reads[0].n, 0);
  });

  it('filters by time and pages with a cursor, newest first', async () => {
    const all = await events('limit=500', 8);
    assert.equal(
      (await events(`since=${encodeURIComponent(since)}&limit=500`, all.length)).length,
      all.length,
    );
    const none = await paddock.request('GET', `/v1/admin/audit?until=${encodeURIComponent(since)}`);
    assert.deepEqual(none.body.items, []);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await paddock.request(
        'GET',
        `/v1/admin/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(
      seen,
      all.map((e: { id: string }) => e.id),
    );
    assert.deepEqual(
      [...seen].sort((a, b) => Number(b) - Number(a)),
      seen,
    );
    assert.equal((await paddock.request('GET', '/v1/admin/audit?since=yesterday')).status, 400);
    assert.equal(
      (await paddock.request('GET', '/v1/admin/audit', undefined, bearer(member.secret))).status,
      403,
    );
  });
});
