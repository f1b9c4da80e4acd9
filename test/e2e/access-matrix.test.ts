/**
 * Who may do what: every project-scoped endpoint and every admin endpoint against every kind of
 * caller, asserting the exact status; token issuing, listing and revocation; membership changes
 * taking effect at once; and the per-token and per-project rate limits.
 *
 * No worker runs here, so the cluster `busy` stays `provisioning` with its create operation
 * pending: mutating calls on it reach the service and answer 409, which proves they got past
 * authorization, while callers that may not see the project get the 404 of a missing project.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  addMember,
  bearer,
  clusterBody,
  issueToken,
  startPaddock,
  TEST_ADMIN_TOKEN,
  TestPaddock,
} from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const CALLERS = [
  'member',
  'member of other',
  'ci',
  'ci of other',
  'admin',
  'no token',
  'expired',
  'revoked',
] as const;
type Caller = (typeof CALLERS)[number];

/** Status per caller: `ok` for the three who can see project alpha, the given denials for the rest. */
const expectProject = (ok: number): Record<Caller, number> => ({
  member: ok,
  'member of other': 404,
  ci: ok,
  'ci of other': 404,
  admin: ok,
  'no token': 401,
  expired: 401,
  revoked: 401,
});
const expectAdmin = (ok: number): Record<Caller, number> => ({
  member: 403,
  'member of other': 403,
  ci: 403,
  'ci of other': 403,
  admin: ok,
  'no token': 401,
  expired: 401,
  revoked: 401,
});

describe('access matrix', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  const headers = {} as Record<Caller, Record<string, string>>;
  let busyOperation: string;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none', env: { PADDOCK_OPERATION_DEADLINE_MS: '600000' } });
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    for (const name of ['alpha', 'beta'])
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    await addMember(paddock, 'alpha', 'alice');
    await addMember(paddock, 'beta', 'bob');
    // Long enough to be issued on a busy machine; the wait below lets it expire before use.
    const soon = new Date(Date.now() + 5_000).toISOString();
    const [member, other, ci, ciOther, expired, revoked] = await Promise.all([
      issueToken(paddock, { subject: 'alice', role: 'member' }),
      issueToken(paddock, { subject: 'bob', role: 'member' }),
      issueToken(paddock, { subject: 'ci-alpha', role: 'ci', project: 'alpha' }),
      issueToken(paddock, { subject: 'ci-beta', role: 'ci', project: 'beta' }),
      issueToken(paddock, { subject: 'alice', role: 'member', expiresAt: soon }),
      issueToken(paddock, { subject: 'alice', role: 'member' }),
    ]);
    assert.equal((await paddock.request('DELETE', `/v1/admin/tokens/${revoked.id}`)).status, 204);
    Object.assign(headers, {
      member: bearer(member.secret),
      'member of other': bearer(other.secret),
      ci: bearer(ci.secret),
      'ci of other': bearer(ciOther.secret),
      admin: bearer(TEST_ADMIN_TOKEN),
      'no token': { authorization: '' },
      expired: bearer(expired.secret),
      revoked: bearer(revoked.secret),
    });
    const busy = await paddock.request('POST', '/v1/projects/alpha/clusters', clusterBody('busy'));
    assert.equal(busy.status, 202, JSON.stringify(busy.body));
    busyOperation = busy.body.operation.id;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(soon) - Date.now() + 50)));
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  async function statuses(
    method: string,
    path: string,
    body?: (caller: Caller) => unknown,
  ): Promise<Record<Caller, number>> {
    const seen = {} as Record<Caller, number>;
    for (const caller of CALLERS) {
      const response = await paddock.request(method, path, body?.(caller), headers[caller]);
      seen[caller] = response.status;
      if (response.status === 401) assert.equal(response.body.code, 'UNAUTHENTICATED');
      if (response.status === 403) assert.equal(response.body.code, 'FORBIDDEN');
      if (response.status === 404 && path.startsWith('/v1/projects/alpha')) {
        // Exactly what a project that does not exist answers: nothing leaks.
        assert.equal(response.body.detail, "project 'alpha' does not exist");
      }
    }
    return seen;
  }

  const slug = (caller: Caller) => caller.replace(/ /g, '-');
  const PROJECT_ENDPOINTS: Array<[string, string, number, ((c: Caller) => unknown)?]> = [
    ['GET', '/v1/projects/alpha/quota', 200],
    ['GET', '/v1/projects/alpha/clusters', 200],
    ['POST', '/v1/projects/alpha/clusters', 202, (c) => clusterBody(`made-by-${slug(c)}`)],
    ['GET', '/v1/projects/alpha/clusters/busy', 200],
    ['DELETE', '/v1/projects/alpha/clusters/busy', 409],
    ['GET', '/v1/projects/alpha/clusters/busy/kubeconfig', 409],
    ['GET', '/v1/projects/alpha/clusters/busy/nodes', 200],
    [
      'POST',
      '/v1/projects/alpha/clusters/busy/node-pools',
      409,
      () => ({ name: 'extra', roles: ['worker'], quantity: 1, flavor: 'm1.large' }),
    ],
    ['PATCH', '/v1/projects/alpha/clusters/busy/node-pools/workers', 409, () => ({ quantity: 3 })],
    ['DELETE', '/v1/projects/alpha/clusters/busy/node-pools/workers', 409],
  ];

  describe('project-scoped endpoints', () => {
    for (const [method, path, ok, body] of PROJECT_ENDPOINTS) {
      it(`${method} ${path}`, async () => {
        assert.deepEqual(await statuses(method, path, body), expectProject(ok));
      });
    }

    it('GET /v1/operations/{operation} of a project-alpha operation', async () => {
      assert.deepEqual(await statuses('GET', `/v1/operations/${busyOperation}`), expectProject(200));
      const denied = await paddock.request(
        'GET',
        `/v1/operations/${busyOperation}`,
        undefined,
        headers['ci of other'],
      );
      assert.equal(denied.body.detail, `operation '${busyOperation}' does not exist`);
    });

    it('a project that does not exist answers the same 404 to everyone who is authenticated', async () => {
      const seen = await statuses('GET', '/v1/projects/nope/clusters');
      assert.deepEqual(seen, { ...expectProject(404), admin: 404 });
    });
  });

  describe('admin endpoints', () => {
    const ADMIN_ENDPOINTS: Array<[string, string, number, ((c: Caller) => unknown)?]> = [
      ['GET', '/v1/admin/projects', 200],
      ['POST', '/v1/admin/projects', 201, (c) => ({ name: `p-${slug(c)}` })],
      ['GET', '/v1/admin/backends', 200],
      ['GET', '/v1/admin/projects/alpha/quota', 200],
      ['PUT', '/v1/admin/projects/alpha/quota', 200, () => ({ clusters: 50, nodes: 1000 })],
      ['GET', '/v1/admin/quotas', 200],
      ['POST', '/v1/admin/quotas/reconcile', 200],
      ['GET', '/v1/admin/projects/alpha/members', 200],
      ['POST', '/v1/admin/projects/beta/members', 201, (c) => ({ subject: `s-${slug(c)}` })],
      ['DELETE', '/v1/admin/projects/beta/members/nobody', 404],
      ['GET', '/v1/admin/tokens', 200],
      ['POST', '/v1/admin/tokens', 201, (c) => ({ subject: `t-${slug(c)}`, role: 'ci', project: 'beta' })],
      ['GET', '/v1/admin/audit', 200],
    ];
    for (const [method, path, ok, body] of ADMIN_ENDPOINTS) {
      it(`${method} ${path}`, async () => {
        assert.deepEqual(await statuses(method, path, body), expectAdmin(ok));
      });
    }
  });

  it('GET /v1/projects lists exactly what each caller can see', async () => {
    const seen: Record<string, unknown> = {};
    for (const caller of CALLERS) {
      const response = await paddock.request('GET', '/v1/projects', undefined, headers[caller]);
      seen[caller] =
        response.status === 200 ? response.body.items.map((p: { name: string }) => p.name) : response.status;
    }
    const admin = (seen.admin as string[]).filter((n) => n === 'alpha' || n === 'beta');
    assert.deepEqual(
      { ...seen, admin },
      {
        member: ['alpha'],
        'member of other': ['beta'],
        ci: ['alpha'],
        'ci of other': ['beta'],
        admin: ['alpha', 'beta'],
        'no token': 401,
        expired: 401,
        revoked: 401,
      },
    );
  });

  describe('tokens', () => {
    it('shows the secret once and keeps only its SHA-256 digest and a short prefix', async () => {
      const created = await paddock.request('POST', '/v1/admin/tokens', {
        subject: 'ci-alpha-2',
        role: 'ci',
        project: 'alpha',
      });
      assert.equal(created.status, 201);
      const { secret, id, prefix } = created.body;
      assert.match(secret, /^pdk_[A-Za-z0-9_-]{43}$/);
      assert.ok(secret.startsWith(prefix) && prefix.length < 16);
      assert.deepEqual(Object.keys(created.body).sort(), [
        'cluster',
        'clusterId',
        'createdAt',
        'createdBy',
        'expiresAt',
        'id',
        'kind',
        'prefix',
        'project',
        'revokedAt',
        'role',
        'secret',
        'subject',
      ]);
      const { rows } = await paddock.db.query(
        `SELECT token_hash, row_to_json(t)::text AS whole FROM api_tokens t WHERE id = $1`,
        [id],
      );
      assert.equal(rows[0].token_hash, createHash('sha256').update(secret).digest('hex'));
      assert.ok(!rows[0].whole.includes(secret.slice(4 + 8)), 'the row holds the secret');
      const listed = await paddock.request('GET', '/v1/admin/tokens?subject=ci-alpha-2');
      assert.equal(listed.status, 200);
      assert.equal(listed.body.items.length, 1);
      assert.equal(listed.body.items[0].secret, undefined);
      assert.ok(!JSON.stringify(listed.body).includes(secret));
      assert.equal(
        (await paddock.request('GET', '/v1/projects/alpha/clusters', undefined, bearer(secret))).status,
        200,
      );
    });

    it('pages the token list with a cursor', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await paddock.request(
          'GET',
          `/v1/admin/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200);
        assert.ok(page.body.items.length <= 2);
        seen.push(...page.body.items.map((t: { id: string }) => t.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      const { rows } = await paddock.db.query(`SELECT count(*)::int AS n FROM api_tokens`);
      assert.equal(new Set(seen).size, rows[0].n);
      assert.equal(seen.length, rows[0].n);
    });

    it('revocation is a 401 on the very next request', async () => {
      const token = await issueToken(paddock, { subject: 'ci-revoke', role: 'ci', project: 'alpha' });
      assert.equal(
        (await paddock.request('GET', '/v1/projects/alpha/quota', undefined, bearer(token.secret))).status,
        200,
      );
      assert.equal((await paddock.request('DELETE', `/v1/admin/tokens/${token.id}`)).status, 204);
      const after = await paddock.request('GET', '/v1/projects/alpha/quota', undefined, bearer(token.secret));
      assert.equal(after.status, 401);
      assert.equal(after.body.detail, 'the token has been revoked');
      assert.equal((await paddock.request('DELETE', `/v1/admin/tokens/${token.id}`)).status, 204);
      assert.equal((await paddock.request('DELETE', '/v1/admin/tokens/not-a-token')).status, 404);
    });

    it('refuses tokens that make no sense', async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ subject: 'x', role: 'ci' }, 'project'],
        [{ subject: 'x', role: 'admin', project: 'alpha' }, 'project'],
        [{ subject: 'x', role: 'ci', project: 'nope' }, 'project'],
        [{ subject: 'bob', role: 'member', project: 'alpha' }, 'subject'],
        [{ subject: 'x', role: 'ci', project: 'alpha', expiresAt: '2001-01-01T00:00:00Z' }, 'expiresAt'],
        [{ subject: 'x', role: 'root' }, 'role'],
        [{ subject: 'has space', role: 'member' }, 'subject'],
      ];
      for (const [body, field] of cases) {
        const response = await paddock.request('POST', '/v1/admin/tokens', body);
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.ok(
          response.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)} → ${JSON.stringify(response.body.errors)}`,
        );
      }
    });

    it('an unknown or malformed bearer is a 401', async () => {
      for (const authorization of ['Bearer pdk_' + 'a'.repeat(43), 'Bearer nonsense', 'Basic abc']) {
        const response = await paddock.request('GET', '/v1/projects', undefined, { authorization });
        assert.equal(response.status, 401, authorization);
      }
    });
  });

  describe('membership', () => {
    it('a member token sees a project from the moment its subject is added until it is removed', async () => {
      const carol = await issueToken(paddock, { subject: 'carol', role: 'member' });
      const get = () => paddock.request('GET', '/v1/projects/beta/clusters', undefined, bearer(carol.secret));
      assert.equal((await get()).status, 404);
      await addMember(paddock, 'beta', 'carol');
      assert.equal((await get()).status, 200);
      const listed = await paddock.request('GET', '/v1/admin/projects/beta/members');
      assert.ok(listed.body.items.some((m: { subject: string }) => m.subject === 'carol'));
      assert.equal(
        (await paddock.request('POST', '/v1/admin/projects/beta/members', { subject: 'carol' })).status,
        409,
      );
      assert.equal((await paddock.request('DELETE', '/v1/admin/projects/beta/members/carol')).status, 204);
      assert.equal((await get()).status, 404);
    });

    it('a member token narrowed to one project sees only that one', async () => {
      await addMember(paddock, 'beta', 'alice');
      const narrowed = await issueToken(paddock, { subject: 'alice', role: 'member', project: 'alpha' });
      assert.equal(
        (await paddock.request('GET', '/v1/projects/alpha/clusters', undefined, bearer(narrowed.secret)))
          .status,
        200,
      );
      assert.equal(
        (await paddock.request('GET', '/v1/projects/beta/clusters', undefined, bearer(narrowed.secret)))
          .status,
        404,
      );
      const projects = await paddock.request('GET', '/v1/projects', undefined, bearer(narrowed.secret));
      assert.deepEqual(
        projects.body.items.map((p: { name: string }) => p.name),
        ['alpha'],
      );
      await paddock.request('DELETE', '/v1/admin/projects/beta/members/alice');
    });

    it('health, readiness, metrics and docs stay public', async () => {
      for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        assert.equal(
          (await paddock.request('GET', path, undefined, { authorization: '' })).status,
          200,
          path,
        );
      }
    });
  });
});

describe('rate limits', () => {
  let paddock: TestPaddock;

  before(async () => {
    paddock = await startPaddock({
      workers: 'none',
      env: {
        PADDOCK_RATE_LIMIT_PER_TOKEN: '5',
        PADDOCK_RATE_LIMIT_PER_PROJECT: '8',
        PADDOCK_RATE_LIMIT_WINDOW_MS: '600000',
      },
    });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'rl' })).status, 201);
  });

  after(async () => {
    await paddock?.close();
  });

  it('answers 429 with Retry-After per token, then per project; admins and health checks are exempt', async () => {
    const a = await issueToken(paddock, { subject: 'ci-a', role: 'ci', project: 'rl' });
    const b = await issueToken(paddock, { subject: 'ci-b', role: 'ci', project: 'rl' });
    const get = (secret: string) =>
      paddock.request('GET', '/v1/projects/rl/clusters', undefined, bearer(secret));
    const first: number[] = [];
    for (let i = 0; i < 6; i++) first.push((await get(a.secret)).status);
    assert.deepEqual(first, [200, 200, 200, 200, 200, 429]);
    const limited = await get(a.secret);
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'RATE_LIMITED');
    assert.equal(limited.body.scope, 'token');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    // b has its own token budget but shares the project's: 7 of 8 are spent by a already.
    const second: number[] = [];
    for (let i = 0; i < 2; i++) second.push((await get(b.secret)).status);
    assert.deepEqual(second, [200, 429]);
    const projectLimited = await get(b.secret);
    assert.equal(projectLimited.body.scope, 'project');
    assert.ok(Number(projectLimited.headers.get('retry-after')) >= 1);
    assert.equal((await paddock.request('GET', '/v1/projects/rl/clusters')).status, 200);
    assert.equal((await paddock.request('GET', '/healthz', undefined, { authorization: '' })).status, 200);
  });
});
