/**
 * What long-polls cost: database transactions per second (pg_stat_database `xact_commit` deltas
 * of the API's database) and the API's resident size, with no waiter, with N waiters connected on
 * an operation that stays pending (no worker runs), and after all N clients went away.
 *
 *   node dist/bench/long-polls.js                       # this build
 *   BENCH_DIST=/path/to/other/dist node dist/bench/long-polls.js   # another build, same script
 *
 * Knobs: LONG_POLL_WAITERS (1000), LONG_POLL_TOKENS (10; waiters are spread over member tokens
 * so that a per-token bound does not refuse them), LONG_POLL_WINDOW_S (10).
 */
import 'reflect-metadata';
import { cleanupAll, createDatabase, paddockClient, pg, rssMiB, sleep, startApi, startSim } from './support';

const WAITERS = Number(process.env.LONG_POLL_WAITERS ?? 1000);
const TOKENS = Number(process.env.LONG_POLL_TOKENS ?? 10);
const WINDOW_S = Number(process.env.LONG_POLL_WINDOW_S ?? 10);

async function main(): Promise<void> {
  const db = await createDatabase();
  const sim = await startSim();
  const prefix = `blp${Date.now().toString(36)}`;
  const api = await startApi(db.url, prefix, {
    env: { PADDOCK_RATE_LIMIT_PER_TOKEN: '100000', PADDOCK_RATE_LIMIT_PER_PROJECT: '1000000' },
  });
  const admin = paddockClient(api.url);
  await admin.registerBackend('sim-1', sim);
  await admin.createProject('lp');
  const secrets: string[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const subject = `waiter-${i}`;
    const m = await admin.call('POST', '/v1/admin/projects/lp/members', { subject });
    if (m.status !== 201) throw new Error(`member: ${m.status} ${JSON.stringify(m.body)}`);
    const t = await admin.call('POST', '/v1/admin/tokens', { subject, role: 'member', project: 'lp' });
    if (t.status !== 201) throw new Error(`token: ${t.status} ${JSON.stringify(t.body)}`);
    secrets.push(String(t.body.secret));
  }
  const created = await admin.call('POST', '/v1/projects/lp/clusters', {
    name: 'waited-on',
    nodePools: [{ name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 'm1.large' }],
  });
  if (created.status !== 202) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const operationId = (created.body.operation as { id: string }).id;

  const stats = await pg(db.url);
  const commits = async () =>
    Number(
      (
        await stats.query<{ n: string }>(
          `SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()`,
        )
      ).rows[0].n,
    );
  /** Transactions per second over a window, excluding this measuring connection's own. */
  const tps = async (seconds: number) => {
    const before = await commits();
    await sleep(seconds * 1000);
    // Statistics are flushed by each backend at most once a second; give them that second.
    await sleep(1100);
    const after = await commits();
    return Math.round(((after - before - 2) / (seconds + 1.1)) * 10) / 10;
  };

  await sleep(2000);
  const idle = { tps: await tps(WINDOW_S), rssMiB: rssMiB(api.pid) };

  const controllers: AbortController[] = [];
  const outcomes = new Map<string, number>();
  const count = (what: string) => outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
  for (let i = 0; i < WAITERS; i++) {
    const controller = new AbortController();
    controllers.push(controller);
    fetch(`${api.url}/v1/operations/${operationId}?waitSeconds=60`, {
      headers: { authorization: `Bearer ${secrets[i % secrets.length]}` },
      signal: controller.signal,
    })
      .then(async (r) => {
        const text = await r.text();
        count(r.status === 200 ? '200' : `${r.status} ${(JSON.parse(text) as { code?: string }).code}`);
      })
      .catch(() => count('aborted'));
  }
  // Idle backends flush their statistics up to 10 s late: let the burst of first reads settle.
  await sleep(12_000);
  const connected = { tps: await tps(WINDOW_S), rssMiB: rssMiB(api.pid) };
  const answeredEarly = Object.fromEntries(outcomes);

  for (const controller of controllers) controller.abort();
  await sleep(1000);
  const aborted = { tps: await tps(WINDOW_S), rssMiB: rssMiB(api.pid) };

  const result = {
    build: process.env.BENCH_DIST ?? 'dist',
    waiters: WAITERS,
    tokens: TOKENS,
    windowSeconds: WINDOW_S,
    idle,
    connected,
    afterAbort: aborted,
    answeredWhileConnected: answeredEarly,
  };
  console.log(JSON.stringify(result, null, 2));
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
