/**
 * The backend token is write-only (issue 5, "Registry"): after a full run it is in no HTTP
 * response, no log line of the API or the worker (child processes at LOG_LEVEL=debug), no Redis
 * key or value under the run's prefix, and nowhere in Postgres in clear text. Key rotation works
 * across restarts on the same database; a value sealed under an unknown key fails loudly. With
 * NODE_ENV=production an `http://` URL is refused, and redirects are never followed.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { TokenCipher } from '../../src/rancher-backends/token-cipher';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { dumpDatabase, dumpRedis } from '../support/secrets';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomChars = (n: number) => Array.from(randomBytes(n), (b) => ALPHABET[b % ALPHABET.length]).join('');
const SECRET = `zz${randomChars(52)}`;
const TOKEN = `token-${randomChars(5)}:${SECRET}`;
const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);
const KEY_C = randomBytes(32);
const keyId = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 8);
const b64 = (key: Buffer) => key.toString('base64');

/** Every form the secret could leak in: as is, and encoded rather than encrypted. */
const NEEDLES = [
  SECRET,
  Buffer.from(SECRET).toString('base64').slice(0, 40),
  Buffer.from(TOKEN).toString('base64').slice(8, 48),
  Buffer.from(SECRET).toString('hex').slice(0, 60),
  encodeURIComponent(SECRET),
];
const leaks = (text: string) => NEEDLES.filter((n) => text.includes(n));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('backends: the token is a secret', { timeout: 150_000 }, () => {
  let sim: TestSimulator;
  let paddock: TestPaddock | undefined;
  let database: string | undefined;
  const responses: Array<{ what: string; text: string }> = [];
  const redisSnapshots: Array<{ when: string; key: string; value: string }> = [];
  const flavors = () => Object.fromEntries(sim.nodeTemplates.map((t) => [t.name, { nodeTemplateId: t.id }]));
  const registration = () => ({
    name: 'secret-1',
    url: sim.url,
    token: TOKEN,
    kind: 'rke1',
    region: 'r1',
    capacity: { maxClusters: 100, maxNodes: 1000 },
    flavors: flavors(),
  });

  /** A request whose whole answer (status line aside) is kept for the leak check. */
  async function call(method: string, path: string, body?: unknown, expected?: number) {
    const response = await paddock!.request(method, path, body);
    const headers = [...response.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n');
    const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
    responses.push({ what: `${method} ${path} → ${response.status}`, text: `${headers}\n${text}` });
    if (expected !== undefined)
      assert.equal(response.status, expected, `${method} ${path}: ${text.slice(0, 500)}`);
    return response;
  }

  async function snapshotRedis(when: string) {
    for (const entry of await dumpRedis(paddock!.redis, paddock!.config.queuePrefix))
      redisSnapshots.push({ when, key: entry.key, value: `${entry.type} ${entry.value}` });
  }

  async function start(env: Record<string, string>, options: { workerMetricsPort?: number } = {}) {
    paddock = await startPaddock({
      api: 'child',
      workers: 'child',
      captureOutput: true,
      database,
      keepDatabase: true,
      env: {
        LOG_LEVEL: 'debug',
        PADDOCK_PROBE_PERIOD_MS: '300',
        ...(options.workerMetricsPort
          ? { PADDOCK_WORKER_METRICS_PORT: String(options.workerMetricsPort) }
          : {}),
        ...env,
      },
    });
    database = paddock.database;
    return paddock;
  }

  async function stop(): Promise<string> {
    const output = paddock!.output();
    const p = paddock!;
    paddock = undefined;
    await p.close();
    return output;
  }

  async function createAndWait(name: string) {
    const created = await call('POST', '/v1/projects/sec/clusters', clusterBody(name), 202);
    const op = await paddock!.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    return created.body;
  }

  const sealedToken = async () =>
    (await paddock!.db.query(`SELECT token_ciphertext FROM backends WHERE name = 'secret-1'`)).rows[0]
      .token_ciphertext as string;

  before(async () => {
    sim = await startTestSimulator({ token: TOKEN, nodeTemplates: [{ name: 'm1.large' }] });
  });

  after(async () => {
    await paddock?.close();
    if (database) {
      // Every Paddock of this file kept the database; drop it.
      const admin = new Client({
        connectionString: `${process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432'}/postgres`,
      });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
    }
    await sim?.close();
  });

  it('the leak checks find the secret where it is (sanity)', () => {
    assert.deepEqual(leaks(JSON.stringify(registration())), [SECRET, encodeURIComponent(SECRET)]);
    assert.ok(leaks(`xx${Buffer.from(TOKEN).toString('base64')}xx`).length > 0);
    assert.ok(leaks(Buffer.from(SECRET).toString('hex')).length > 0);
  });

  it('a full run under key A: no response, log line, Redis value or row holds the token', async () => {
    const workerMetricsPort = await freePort();
    await start({ PADDOCK_ENCRYPTION_KEY: b64(KEY_A) }, { workerMetricsPort });

    await call('GET', '/openapi.json', undefined, 200);
    await call('GET', '/openapi.yaml', undefined, 200);
    // Refusals that quote the body must not quote the token.
    await call('POST', '/v1/admin/backends', { ...registration(), name: 'Not A Name' }, 400);
    await call('POST', '/v1/admin/backends', { ...registration(), extra: TOKEN }, 400);
    await call(
      'POST',
      '/v1/admin/backends',
      { ...registration(), flavors: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-nope1' } } },
      422,
    );
    const registered = await call('POST', '/v1/admin/backends', registration(), 201);
    assert.equal(registered.body.token, undefined);
    await call('POST', '/v1/admin/backends', registration(), 409);
    await snapshotRedis('after register');
    await call('GET', '/v1/admin/backends', undefined, 200);
    await call('GET', '/v1/admin/backends/secret-1', undefined, 200);
    await call('PATCH', '/v1/admin/backends/secret-1', { token: TOKEN, labels: { team: 'x' } }, 200);
    await call('PATCH', '/v1/admin/backends/secret-1', { token: `${TOKEN}x` }, 422);
    await call('PATCH', '/v1/admin/backends/secret-1', { capacity: { maxClusters: 50, maxNodes: 500 } }, 200);

    await call('POST', '/v1/admin/projects', { name: 'sec' }, 201);
    const created = await call('POST', '/v1/projects/sec/clusters', clusterBody('s-1'), 202);
    await snapshotRedis('create in flight');
    await call('GET', `/v1/operations/${created.body.operation.id}`, undefined, 200);
    await snapshotRedis('create running');
    assert.equal((await paddock!.waitForOperation(created.body.operation.id)).state, 'succeeded');
    await waitFor(
      's-1 synced',
      async () => (await call('GET', '/v1/projects/sec/clusters/s-1')).body.statusUpdatedAt,
    );
    await call('GET', '/v1/projects/sec/clusters', undefined, 200);
    await call('GET', '/v1/projects/sec/clusters/s-1/nodes', undefined, 200);
    await call('GET', '/v1/projects/sec/clusters/s-1/kubeconfig', undefined, 200);
    const scaled = await call(
      'PATCH',
      '/v1/projects/sec/clusters/s-1/node-pools/workers',
      { quantity: 3 },
      202,
    );
    await snapshotRedis('scale');
    assert.equal((await paddock!.waitForOperation(scaled.body.id)).state, 'succeeded');
    // A failing backend: errors logged by the client and the probes.
    await sim.faults.add({ status: 401, path: '^/v3/' });
    await waitFor('secret-1 unhealthy', async () => {
      const b = (await call('GET', '/v1/admin/backends/secret-1')).body;
      return b.health.state === 'unhealthy';
    });
    await snapshotRedis('backend refusing the token');
    await sim.faults.clear();
    await waitFor(
      'secret-1 healthy',
      async () => {
        const b = (await call('GET', '/v1/admin/backends/secret-1')).body;
        return b.health.state === 'healthy';
      },
      20_000,
    );
    const deleted = await call('DELETE', '/v1/projects/sec/clusters/s-1', undefined, 202);
    assert.equal((await paddock!.waitForOperation(deleted.body.id)).state, 'succeeded');
    await call('GET', `/v1/operations/${deleted.body.id}`, undefined, 200);
    await call('GET', '/v1/operations', undefined);
    await call('GET', '/metrics', undefined, 200);
    const workerMetrics = await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`);
    assert.equal(workerMetrics.status, 200);
    responses.push({ what: 'worker /metrics', text: await workerMetrics.text() });
    await call('GET', '/v1/admin/backends/secret-1', undefined, 200);
    await snapshotRedis('end of run');

    // Responses.
    assert.ok(responses.length > 25);
    for (const r of responses) assert.deepEqual(leaks(r.text), [], `${r.what} leaks the token`);
    // Redis: the run's keys and values, job data included.
    assert.ok(
      redisSnapshots.some((s) => s.key.includes(':operations:') && s.value.includes('operationId')),
      'job data was seen',
    );
    assert.ok(redisSnapshots.some((s) => s.key.includes(':backend-calls:')));
    for (const s of redisSnapshots)
      assert.deepEqual(leaks(`${s.key} ${s.value}`), [], `Redis ${s.key} (${s.when}) leaks`);
    // Postgres: no column of any row.
    const sealed = await sealedToken();
    assert.match(sealed, new RegExp(`^v1\\.${keyId(KEY_A)}\\.`));
    const rows = await dumpDatabase(paddock!);
    assert.ok(rows.some((r) => r.table === 'backends'));
    for (const r of rows)
      assert.deepEqual(leaks(r.row), [], `table ${r.table} leaks: ${r.row.slice(0, 300)}`);

    // Logs of the API and the worker at debug level.
    const output = await stop();
    assert.match(output, /"url":"\/v1\/admin\/backends"/, 'the API request log was captured');
    assert.match(output, /"level":(20|30|40)/);
    assert.match(output, /secret-1/, 'the worker logged about the backend');
    const lines = output.split('\n');
    console.log(
      `# ${responses.length} responses, ${redisSnapshots.length} Redis values, ${rows.length} rows, ${lines.length} log lines checked`,
    );
    for (const line of lines) assert.deepEqual(leaks(line), [], `log line leaks: ${line.slice(0, 300)}`);
  });

  it('rotates the key: B current with A previous re-seals, then B alone works', async () => {
    await start({
      PADDOCK_ENCRYPTION_KEY: b64(KEY_B),
      PADDOCK_PREVIOUS_ENCRYPTION_KEYS: b64(KEY_A),
    });
    await waitFor('the token re-sealed under key B', async () =>
      (await sealedToken()).startsWith(`v1.${keyId(KEY_B)}.`),
    );
    await createAndWait('rot-1');
    await call('PATCH', '/v1/admin/backends/secret-1', { flavors: flavors() }, 200); // re-verifies with the opened token
    let output = await stop();
    assert.match(output, /re-sealed 1 backend token/);
    for (const line of output.split('\n')) assert.deepEqual(leaks(line), []);

    await start({ PADDOCK_ENCRYPTION_KEY: b64(KEY_B) });
    assert.match(await sealedToken(), new RegExp(`^v1\\.${keyId(KEY_B)}\\.`));
    await createAndWait('rot-2');
    assert.equal(
      (await call('GET', '/v1/admin/backends/secret-1', undefined, 200)).body.health.state,
      'healthy',
    );
    output = await stop();
    for (const line of output.split('\n')) assert.deepEqual(leaks(line), []);
  });

  it('a token sealed under an unknown key fails loudly, and a new token repairs it', async () => {
    await start({ PADDOCK_ENCRYPTION_KEY: b64(KEY_B) });
    await paddock!.db.query(
      `UPDATE backends SET token_ciphertext = $1, updated_at = now() WHERE name = 'secret-1'`,
      [new TokenCipher(KEY_C).seal(TOKEN)],
    );
    const message = `sealed with key ${keyId(KEY_C)}, which is neither the current nor a previous key`;
    // The probes cannot open it: the backend fails them and leaves placement.
    const unhealthy = await waitFor('secret-1 unhealthy', async () => {
      const b = (await call('GET', '/v1/admin/backends/secret-1')).body;
      return b.health.state === 'unhealthy' && b;
    });
    assert.equal(unhealthy.health.lastError, `token cannot be opened: ${message}`);
    const refused = await call('POST', '/v1/projects/sec/clusters', clusterBody('unknown-key-2'), 503);
    assert.equal(refused.body.reasons['secret-1'], 'unhealthy (failed its last probes)');
    // A change that must open the stored token (re-verification) asks for a new token.
    const patched = await call('PATCH', '/v1/admin/backends/secret-1', { flavors: flavors() }, 422);
    assert.equal(patched.body.code, 'BACKEND_TOKEN_UNREADABLE');

    // An operation on it pauses with the reason in its step (forced through: placement would refuse).
    await paddock!.db.query(
      `UPDATE backends SET health = 'healthy', probe_failures = -100 WHERE name = 'secret-1'`,
    );
    const created = await call('POST', '/v1/projects/sec/clusters', clusterBody('unknown-key'), 202);
    const paused = await waitFor('the create to record its error', async () => {
      const op = (await call('GET', `/v1/operations/${created.body.operation.id}`)).body;
      return op.steps[0].lastError && op;
    });
    assert.equal(paused.state, 'running');
    assert.match(paused.steps[0].lastError, new RegExp(`BACKEND_TOKEN_UNREADABLE|${message}`));

    // The repair: a new token (the old one need not be opened), sealed under the current key.
    await call('PATCH', '/v1/admin/backends/secret-1', { token: TOKEN }, 200);
    assert.match(await sealedToken(), new RegExp(`^v1\\.${keyId(KEY_B)}\\.`));
    assert.equal((await paddock!.waitForOperation(created.body.operation.id)).state, 'succeeded');
    await waitFor(
      'secret-1 healthy',
      async () => (await call('GET', '/v1/admin/backends/secret-1')).body.health.state === 'healthy',
    );

    const output = await stop();
    const loud = output.split('\n').filter((l) => l.includes(message));
    console.log(
      `# unknown key: ${loud.length} log lines name the unknown key id; PATCH needing the token → 422`,
    );
    assert.ok(loud.length > 0, 'the failure is logged with the unknown key id');
    for (const line of output.split('\n')) assert.deepEqual(leaks(line), []);
  });

  describe('URL rules', () => {
    let redirector: Server;
    let redirectHits = 0;

    before(async () => {
      redirector = createServer((req, res) => {
        redirectHits += 1;
        res.writeHead(302, { location: `${sim.url}${req.url}` }).end();
      });
      await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    });
    after(() => new Promise<void>((resolve) => redirector.close(() => resolve())));

    it('refuses a backend that answers with a redirect (422), without following it', async () => {
      await start({ PADDOCK_ENCRYPTION_KEY: b64(KEY_B) });
      try {
        await sim.clearCalls();
        const url = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
        const response = await call('POST', '/v1/admin/backends', {
          ...registration(),
          name: 'redirected',
          url,
        });
        assert.equal(response.status, 422, JSON.stringify(response.body));
        assert.equal(response.body.code, 'BACKEND_VERIFICATION_FAILED');
        assert.ok(redirectHits > 0, 'the redirecting server was asked');
        assert.deepEqual(await sim.calls(), [], 'the redirect was not followed to the simulator');
        assert.equal((await call('GET', '/v1/admin/backends/redirected')).status, 404);
      } finally {
        await stop();
      }
    });

    it('with NODE_ENV=production an http:// URL is refused with 400 naming url', async () => {
      const production = await startPaddock({
        api: 'child',
        workers: 'none',
        captureOutput: true,
        env: {
          NODE_ENV: 'production',
          PADDOCK_ENCRYPTION_KEY: b64(KEY_A),
          PADDOCK_PUBLIC_URL: 'https://paddock.example.test',
          // Production with backups on would also need the S3 settings; this test is about URLs.
          PADDOCK_BACKUPS: 'off',
        },
      });
      try {
        const response = await production.request('POST', '/v1/admin/backends', registration());
        assert.equal(response.status, 400, JSON.stringify(response.body));
        assert.deepEqual(
          response.body.errors.map((e: { field: string }) => e.field),
          ['url'],
        );
        assert.match(response.body.detail, /url/);
        // https itself is accepted as a scheme: an unreachable https URL fails verification instead.
        const https = await production.request('POST', '/v1/admin/backends', {
          ...registration(),
          url: 'https://127.0.0.1:1',
        });
        assert.equal(https.status, 422, JSON.stringify(https.body));
        assert.equal(https.body.code, 'BACKEND_VERIFICATION_FAILED');
        assert.deepEqual(leaks(JSON.stringify([response.body, https.body])), []);
      } finally {
        await production.close();
      }
    });
  });
});
