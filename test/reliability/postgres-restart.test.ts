/**
 * Postgres stopped and started again while creates, a scale and a delete are in flight (the
 * restart is split in two so the outage has a known length). While it is down the API answers
 * quickly — 503 `DATABASE_UNAVAILABLE`, /readyz 503, never a hang or a 500 — and nothing is
 * half-written: every create that got a 202 has its cluster, pools, operation and outbox rows,
 * every create that did not left nothing. Once it is back everything completes and THE CHECKS pass.
 *
 * The machine's Postgres is shared by everything on it, so this suite runs alone
 * (`npm run test:reliability`, one file at a time); the `finally` brings Postgres back whatever happens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { ensurePostgresUp, pgctl, postgresCluster } from '../support/postgres';
import { addBackend, CaseBackend, sleep } from '../support/reliability';
import { assertSystemInvariants } from '../support/reliability-checks';

const PROJECT = 'pgr';
const LOOPS = 4;
const DOWN_MS = 4_000;
/** A request slower than this while Postgres is down counts as "did not answer quickly". */
const QUICK_MS = 2_000;
/** A request slower than this is a hang. */
const HANG_MS = 15_000;

interface Sent {
  kind: 'create' | 'read';
  name?: string;
  status: number;
  code?: string;
  at: number;
  ms: number;
}

const single = (name: string) => ({
  name,
  region: PROJECT,
  nodePools: [{ name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 'm1.large' }],
});

describe('reliability: Postgres restarted mid-flight', () => {
  let paddock: TestPaddock;
  let b: CaseBackend;
  const extraClients: Client[] = [];

  before(async () => {
    paddock = await startPaddock({ workers: 'child', env: { PADDOCK_OPERATION_LEASE_MS: '3000' } });
    // The test's own connection dies with the server; it is replaced once Postgres is back.
    paddock.db.on('error', () => undefined);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    const quota = { clusters: 10_000, nodes: 100_000 };
    assert.equal((await paddock.request('PUT', `/v1/admin/projects/${PROJECT}/quota`, quota)).status, 200);
    b = await addBackend(paddock, PROJECT, { timings: { permissionWindowMs: 600, nodeProvisionMs: 1_200 } });
  });

  /** The test's own connection dies with the server: a new one once Postgres is back. */
  async function reconnect() {
    const db = new Client({ connectionString: paddock.config.databaseUrl });
    db.on('error', () => undefined);
    await db.connect();
    extraClients.push(db);
    paddock.db = db;
    return db;
  }

  after(async () => {
    try {
      await ensurePostgresUp();
      if (paddock) await reconnect();
      if (paddock && b)
        await assertSystemInvariants(paddock, [b.sim], {
          label: 'postgres restart',
          terminalTimeoutMs: 90_000,
        });
    } finally {
      await paddock?.close().catch((error) => console.log(`close: ${error}`));
      for (const c of extraClients) await c.end().catch(() => undefined);
      await b?.sim.close();
    }
  });

  async function send(method: string, path: string, body?: unknown) {
    const at = Date.now();
    try {
      const response = await fetch(`${paddock.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${paddock.config.adminToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(HANG_MS),
      });
      const text = await response.text();
      const parsed =
        text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : null;
      return { status: response.status, body: parsed, at, ms: Date.now() - at };
    } catch (error) {
      return { status: 0, body: { code: `NO_ANSWER ${(error as Error).name}` }, at, ms: Date.now() - at };
    }
  }

  it('answers 503 quickly while it is down, writes nothing by halves, and completes everything after', async () => {
    const t0 = Date.now();
    // Work in flight across the restart: a scale and a delete of active clusters, and creates.
    const pre = [];
    for (let i = 0; i < 3; i++)
      pre.push(await send('POST', `/v1/projects/${PROJECT}/clusters`, single(`pre-${i}`)));
    for (const r of pre) assert.equal(r.status, 202, JSON.stringify(r.body));
    for (const r of pre)
      assert.equal((await paddock.waitForOperation(r.body.operation.id)).state, 'succeeded');
    const scaled = await send('PATCH', `/v1/projects/${PROJECT}/clusters/pre-0/node-pools/all`, {
      quantity: 3,
    });
    assert.equal(scaled.status, 202);
    const deleted = await send('DELETE', `/v1/projects/${PROJECT}/clusters/pre-1`);
    assert.equal(deleted.status, 202);

    // Load: LOOPS clients creating clusters (unique names) and reading, without pause.
    const sent: Sent[] = [];
    let loading = true;
    const loops = Array.from({ length: LOOPS }, async (_, loop) => {
      for (let i = 0; loading; i++) {
        const name = `l${loop}-${i}`;
        const r = await send('POST', `/v1/projects/${PROJECT}/clusters`, single(name));
        sent.push({ kind: 'create', name, status: r.status, code: r.body?.code, at: r.at, ms: r.ms });
        const g = await send('GET', `/v1/projects/${PROJECT}/clusters/pre-2`);
        sent.push({ kind: 'read', status: g.status, code: g.body?.code, at: g.at, ms: g.ms });
        await sleep(r.status === 202 ? 100 : 50);
      }
    });

    let stopAt = 0;
    let downAt = 0;
    let upAt = 0;
    let startedAt = 0;
    const probes: Array<{ what: string; status: number; code?: string; ms: number }> = [];
    try {
      await sleep(1_500);
      stopAt = Date.now();
      const stopMs = await pgctl('stop');
      downAt = Date.now();
      console.log(`[postgres-restart] ${postgresCluster().join(' ')} stopped in ${stopMs} ms`);
      // While it is down: the API answers, quickly, with 503.
      const down0 = Date.now();
      while (Date.now() - down0 < DOWN_MS) {
        for (const [what, method, path, body] of [
          ['readyz', 'GET', '/readyz', undefined],
          ['create', 'POST', `/v1/projects/${PROJECT}/clusters`, single(`probe-${probes.length}`)],
          ['read', 'GET', `/v1/projects/${PROJECT}/clusters/pre-2`, undefined],
          ['quota', 'GET', `/v1/admin/projects/${PROJECT}/quota`, undefined],
          ['healthz', 'GET', '/healthz', undefined],
        ] as const) {
          const r = await send(method, path, body);
          probes.push({ what, status: r.status, code: r.body?.code ?? r.body?.status, ms: r.ms });
        }
        await sleep(250);
      }
      startedAt = Date.now();
      const startMs = await pgctl('start');
      upAt = Date.now();
      console.log(`[postgres-restart] started again in ${startMs} ms (down ${upAt - downAt} ms)`);
    } finally {
      await ensurePostgresUp();
    }
    // The API notices by itself.
    const readyMs = await waitFor(
      '/readyz to answer 200 again',
      async () => ((await send('GET', '/readyz')).status === 200 ? Date.now() - upAt : undefined),
      30_000,
    );
    await sleep(2_000);
    loading = false;
    await Promise.all(loops);

    // Probes while down: 503 DATABASE_UNAVAILABLE (readyz: 503 unavailable), liveness 200, all quick.
    const byWhat: Record<string, { statuses: Record<string, number>; maxMs: number }> = {};
    for (const p of probes) {
      const entry = (byWhat[p.what] ??= { statuses: {}, maxMs: 0 });
      const key = `${p.status} ${p.code}`;
      entry.statuses[key] = (entry.statuses[key] ?? 0) + 1;
      entry.maxMs = Math.max(entry.maxMs, p.ms);
    }
    console.log(`[postgres-restart] while down (${probes.length} probes): ${JSON.stringify(byWhat)}`);
    for (const p of probes) {
      assert.ok(p.ms < QUICK_MS, `${p.what} took ${p.ms} ms while Postgres was down`);
      if (p.what === 'healthz') assert.equal(p.status, 200);
      else if (p.what === 'readyz') assert.deepEqual([p.status, p.code], [503, 'unavailable']);
      else assert.deepEqual([p.status, p.code], [503, 'DATABASE_UNAVAILABLE'], `${p.what} while down`);
    }

    // The load: only 202/200 or 503; never a 500 or a hang; quick 503s while down; 202s again after.
    const tally: Record<string, number> = {};
    for (const s of sent) {
      const phase =
        s.at + s.ms < stopAt
          ? 'before'
          : s.at > downAt && s.at + s.ms < startedAt
            ? 'down'
            : s.at > upAt
              ? 'after'
              : 'transition';
      const key = `${phase} ${s.kind} ${s.status}${s.code ? ` ${s.code}` : ''}`;
      tally[key] = (tally[key] ?? 0) + 1;
      assert.ok(s.ms < HANG_MS, `a request hung: ${JSON.stringify(s)}`);
      assert.ok(
        [200, 202, 503].includes(s.status) && (s.status !== 503 || s.code === 'DATABASE_UNAVAILABLE'),
        `unexpected answer: ${JSON.stringify(s)}`,
      );
      if (phase === 'down') {
        assert.equal(s.status, 503, `while down: ${JSON.stringify(s)}`);
        assert.ok(s.ms < QUICK_MS, `slow while down: ${JSON.stringify(s)}`);
      }
    }
    console.log(
      `[postgres-restart] load (${sent.length} requests): ${JSON.stringify(tally)}; /readyz 200 again ${readyMs} ms after the start`,
    );
    assert.ok(
      sent.some((s) => s.kind === 'create' && s.status === 202 && s.at > upAt),
      'creates accepted again after',
    );

    // Nothing half-written.
    const db = await reconnect();
    const { rows } = await db.query(
      `SELECT c.name, c.state,
         (SELECT count(*) FROM node_pools np WHERE np.cluster_id = c.id)::int AS pools,
         (SELECT count(*) FROM operations o WHERE o.cluster_id = c.id AND o.type = 'create-cluster')::int AS ops,
         (SELECT count(*) FROM outbox x JOIN operations o ON o.id = x.operation_id
           WHERE o.cluster_id = c.id AND o.type = 'create-cluster')::int AS outbox
       FROM clusters c JOIN projects p ON p.id = c.project_id WHERE p.name = $1`,
      [PROJECT],
    );
    const byName = new Map(rows.map((r) => [r.name as string, r]));
    const creates = sent.filter((s) => s.kind === 'create');
    const problems: string[] = [];
    for (const s of creates) {
      const row = byName.get(s.name!);
      if (s.status === 202 && (!row || row.pools !== 1 || row.ops !== 1 || row.outbox !== 1))
        problems.push(`${s.name} got 202 but has ${JSON.stringify(row ?? 'no row')}`);
      if (s.status !== 202 && row)
        problems.push(`${s.name} got ${s.status} ${s.code} but left ${JSON.stringify(row)}`);
    }
    for (const r of rows)
      if (r.name.startsWith('probe-')) problems.push(`a create refused while down left ${JSON.stringify(r)}`);
    const { rows: strays } = await db.query(
      `SELECT o.id, o.type FROM operations o WHERE NOT EXISTS (SELECT 1 FROM outbox x WHERE x.operation_id = o.id)`,
    );
    for (const s of strays) problems.push(`operation ${s.id} (${s.type}) has no outbox row`);
    assert.deepEqual(problems, [], 'nothing half-written');

    // The workers lived through it, and everything completes.
    const dead = paddock.children.filter((c) => c.exitCode !== null || c.signalCode !== null);
    assert.deepEqual(
      dead.map((c) => [c.pid, c.exitCode, c.signalCode]),
      [],
      'every worker survived the restart',
    );
    const accepted = creates.filter((s) => s.status === 202);
    const settleFrom = Date.now();
    for (const id of [scaled.body.id, deleted.body.id])
      assert.equal((await paddock.waitForOperation(id, 60_000)).state, 'succeeded');
    const { rows: notDone } = await waitFor(
      'every create to finish',
      async () => {
        const r = await db.query(
          `SELECT o.id, o.state, o.error_code FROM operations o JOIN projects p ON p.id = o.project_id
           WHERE p.name = $1 AND o.state <> 'succeeded'`,
          [PROJECT],
        );
        return r.rows.every((x) => x.state === 'failed') ? r : undefined;
      },
      90_000,
    );
    assert.deepEqual(notDone, [], 'every operation succeeded');
    console.log(
      `[postgres-restart] ${accepted.length}/${creates.length} creates accepted (${creates.length - accepted.length} refused with 503, none half-written); ` +
        `all operations succeeded ${Date.now() - settleFrom} ms after the load stopped (scenario ${Date.now() - t0} ms)`,
    );
  });
});
