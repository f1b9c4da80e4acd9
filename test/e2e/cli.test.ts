/**
 * The built `paddock` command, run as a child process the way a CI job runs it, against a started
 * Paddock (behind TLS for kubectl, as behind an ingress) and the simulator over HTTP: a create
 * that waits and writes a kubeconfig the real kubectl uses, each documented exit code, output
 * that parses, and a create whose answer is cut on the way back, retried into one cluster.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../support/cli';
import { issueToken, startPaddock, TEST_ADMIN_TOKEN, TestPaddock } from '../support/paddock';
import { kubectl, scratch } from '../support/kube';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { startTestS3, TestS3 } from '../support/s3';
import { startTlsFront, TlsFront } from '../support/tls-front';

const SPEC = `
name: ci-1
labels: {pipeline: "42"}
nodePools:
  - {name: control, roles: [etcd, controlplane], quantity: 1, flavor: m1.large}
  - {name: workers, roles: [worker], quantity: 2, flavor: m1.large}
`;

describe('the paddock CLI, run as a CI job runs it', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;
  let s3: TestS3;
  let front: TlsFront;
  let files: ReturnType<typeof scratch>;
  let ci: string;
  let spec: string;

  /** Runs the CLI with the ci token of project `web` unless `env` says otherwise. */
  const paddockCli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { PADDOCK_URL: paddock.url, PADDOCK_TOKEN: ci, ...env });

  const operationIdIn = (stderr: string) => /operation ([0-9a-f-]{36})/.exec(stderr)?.[1];

  before(async () => {
    front = await startTlsFront();
    s3 = await startTestS3();
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }], timings: { etcdBackupMs: 50 } });
    paddock = await startPaddock({
      env: {
        ...s3.env,
        PADDOCK_PUBLIC_URL: front.url,
        PADDOCK_PUBLIC_CA_FILE: front.certPath,
        PADDOCK_RANCHER_TIMEOUT_MS: '5000',
      },
    });
    front.setTarget(Number(new URL(paddock.url).port));
    files = scratch();
    spec = files.file('cluster.yaml', SPEC);
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    for (const name of ['web', 'tight'])
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    ci = (await issueToken(paddock, { subject: 'ci-web', role: 'ci', project: 'web' })).secret;
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await s3?.close();
    await front?.close();
    files?.cleanup();
  });

  it('create --wait --kubeconfig-out exits 0 with the active cluster as JSON and a 0600 kubeconfig kubectl uses; delete --wait removes it', async () => {
    // A path where nothing is yet: the CLI creates the file, and its mode is the CLI's doing.
    const kubeconfig = join(dirname(files.file('.keep', '')), 'kc.yaml');
    const created = await paddockCli([
      'clusters',
      'create',
      '-f',
      spec,
      '--wait',
      '--timeout',
      '2m',
      '--kubeconfig-out',
      kubeconfig,
      '-o',
      'json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const cluster = JSON.parse(created.stdout) as { name: string; state: string; project: string };
    assert.deepEqual([cluster.name, cluster.state, cluster.project], ['ci-1', 'active', 'web']);
    assert.match(created.stderr, /step create-cluster succeeded/);
    assert.match(created.stderr, /step await-active succeeded/);
    assert.equal(statSync(kubeconfig).mode & 0o777, 0o600);
    const nodes = await kubectl(kubeconfig, ['get', 'nodes', '-o', 'name']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.equal(nodes.stdout.trim().split('\n').length, 3);

    const listed = await paddockCli(['clusters', 'list', '-o', 'yaml']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (parse(listed.stdout) as Array<{ name: string }>).map((c) => c.name),
      ['ci-1'],
    );
    const table = await paddockCli(['clusters', 'get', 'ci-1']);
    assert.match(table.stdout, /^NAME\s+STATE/);
    assert.match(table.stdout, /ci-1\s+active/);

    const deleted = await paddockCli(['clusters', 'delete', 'ci-1', '--wait', '-o', 'json']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal((JSON.parse(deleted.stdout) as { state: string }).state, 'succeeded');
    assert.equal((await sim.rancher('GET', '/v3/clusters')).body.data.length, 0);
  });

  it('a quota refusal exits 4 printing QUOTA_EXCEEDED; a bad token exits 5', async () => {
    const set = await paddock.request('PUT', '/v1/admin/projects/tight/quota', { clusters: 0, nodes: 10 });
    assert.equal(set.status, 200);
    const refused = await paddockCli(['clusters', 'create', '-p', 'tight', '-f', spec, '--wait'], {
      PADDOCK_TOKEN: TEST_ADMIN_TOKEN,
    });
    assert.equal(refused.code, 4);
    assert.match(refused.stderr, /^error: QUOTA_EXCEEDED: project 'tight' would exceed its clusters quota/m);
    const denied = await paddockCli(['clusters', 'list', '-p', 'web'], {
      PADDOCK_TOKEN: 'pdk_not_a_real_token_0123456789',
    });
    assert.equal(denied.code, 5);
    assert.match(denied.stderr, /UNAUTHENTICATED/);
  });

  it('a bad spec file exits 2 naming the field; an unreadable one and an unknown flag exit 2 too', async () => {
    const bad = files.file('bad.yaml', SPEC.replace('quantity: 2', 'quantity: 0'));
    const invalid = await paddockCli(['clusters', 'create', '-f', bad]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /VALIDATION_FAILED/);
    assert.match(invalid.stderr, /nodePools\[1\]\.quantity/);
    const broken = await paddockCli([
      'clusters',
      'create',
      '-f',
      files.file('broken.yaml', 'name: [unclosed'),
    ]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /cluster spec .*broken\.yaml/);
    assert.equal((await paddockCli(['clusters', 'create', '--no-such-flag'])).code, 2);
    assert.equal((await paddockCli(['clusters', 'create', '-f', spec, '--timeout', 'soon'])).code, 2);
    const none = await paddock.db.query(`SELECT count(*)::int AS n FROM clusters WHERE state <> 'deleted'`);
    assert.equal(none.rows[0].n, 0, 'nothing was created');
  });

  it('--timeout 1s exits 3 while the create goes on; ops wait then follows it to the end with exit 0', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', delayMs: 2_500, times: 1 });
    const slow = await paddockCli([
      'clusters',
      'create',
      '-f',
      spec,
      '--name',
      'slow',
      '--wait',
      '--timeout',
      '1s',
    ]);
    assert.equal(slow.code, 3, slow.stderr);
    assert.match(slow.stderr, /TIMEOUT: operation .* is still (pending|running)/);
    const id = operationIdIn(slow.stderr);
    assert.ok(id);
    const waited = await paddockCli(['ops', 'wait', id, '-o', 'json']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal((JSON.parse(waited.stdout) as { state: string }).state, 'succeeded');
    assert.equal((await paddockCli(['clusters', 'delete', 'slow', '--wait'])).code, 0);
  });

  it('a failed operation exits 1 printing its code', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', status: 422, times: 1 });
    const failed = await paddockCli(['clusters', 'create', '-f', spec, '--name', 'doomed', '--wait']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /^error: operation .* \(create-cluster\) failed: BACKEND_REJECTED/m);
  });

  it('ops cancel --wait stops a create and exits 0 once it is cancelled; cancelling it again is harmless', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', delayMs: 1_500, times: 1 });
    const started = await paddockCli(['clusters', 'create', '-f', spec, '--name', 'unwanted']);
    assert.equal(started.code, 0, started.stderr);
    const id = operationIdIn(started.stderr)!;
    const cancelled = await paddockCli(['ops', 'cancel', id, '--wait', '-o', 'json']);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal((JSON.parse(cancelled.stdout) as { state: string }).state, 'cancelled');
    assert.equal((await paddockCli(['ops', 'cancel', id])).code, 0);
    const waited = await paddockCli(['ops', 'wait', id]);
    assert.equal(waited.code, 1);
    assert.match(waited.stderr, /cancelled: CANCELLED/);
    assert.equal((await sim.rancher('GET', '/v3/clusters')).body.data.length, 0);
  });

  it('a create whose answer is cut after Paddock applied it is retried with its Idempotency-Key into one cluster', async () => {
    const seen: Array<{ method: string; key: string | undefined }> = [];
    let cut = false;
    // Between the CLI and Paddock: the first create goes through, and its answer is dropped.
    const proxy: Server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const key = req.headers['idempotency-key'] as string | undefined;
          if (req.method === 'POST') seen.push({ method: req.method, key });
          const headers = Object.fromEntries(
            Object.entries(req.headers).filter(
              ([k]) => !['host', 'connection', 'content-length'].includes(k),
            ),
          ) as Record<string, string>;
          const upstream = await fetch(`${paddock.url}${req.url}`, {
            method: req.method,
            headers,
            body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
          });
          const body = Buffer.from(await upstream.arrayBuffer());
          if (req.method === 'POST' && req.url?.endsWith('/clusters') && !cut) {
            cut = true;
            req.socket.destroy();
            return;
          }
          res.writeHead(upstream.status, Object.fromEntries(upstream.headers.entries()));
          res.end(body);
        })();
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await paddockCli(
        ['clusters', 'create', '-f', spec, '--name', 'once', '--wait', '-o', 'json'],
        {
          PADDOCK_URL: url,
        },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /network error on POST/);
      assert.equal(seen.length, 2, 'the create was sent twice');
      assert.ok(seen[0].key && seen[0].key === seen[1].key, 'with one Idempotency-Key');
      const count = await paddock.db.query(`SELECT count(*)::int AS n FROM clusters WHERE name = 'once'`);
      assert.equal(count.rows[0].n, 1, 'one cluster');
      assert.equal((JSON.parse(run.stdout) as { state: string }).state, 'active');
    } finally {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('backups create --wait lands a backup in the bucket, list shows it, restore --wait restores from it', async () => {
    const created = await paddockCli([
      'clusters',
      'create',
      '-f',
      spec,
      '--name',
      'cli-bk',
      '--wait',
      '-o',
      'json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const taken = await paddockCli(['backups', 'create', 'cli-bk', '--wait', '-o', 'json']);
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(JSON.parse(taken.stdout).state, 'succeeded');
    const listed = await paddockCli(['backups', 'list', 'cli-bk', '-o', 'json']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /bucket \S+; every \d+h, \d+ kept/);
    const items: Array<{ name: string; kind: string; state: string }> = JSON.parse(listed.stdout);
    const manual = items.find((b) => b.kind === 'manual');
    assert.ok(manual, listed.stdout);
    assert.equal(manual.state, 'active');
    const restored = await paddockCli(['backups', 'restore', 'cli-bk', manual.name, '--wait', '-o', 'json']);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(JSON.parse(restored.stdout).type, 'restore-backup');
    const unknown = await paddockCli(['backups', 'restore', 'cli-bk', 'no-such-backup']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /NOT_FOUND/);
    // A bad --timeout is refused before the request: no second backup is asked for.
    const backupsAsked = async () =>
      (
        await paddock.db.query(
          `SELECT count(*)::int AS n FROM operations WHERE type = 'take-backup' AND state <> 'cancelled'`,
        )
      ).rows[0].n;
    const before = await backupsAsked();
    const badTimeout = await paddockCli(['backups', 'create', 'cli-bk', '--wait', '--timeout', 'soon']);
    assert.equal(badTimeout.code, 2, badTimeout.stderr);
    assert.match(badTimeout.stderr, /--timeout/);
    assert.equal(await backupsAsked(), before);
  });

  it('clusters upgrade --version --wait exits 0 once the cluster runs the new version; a downgrade exits 2 naming it', async () => {
    const created = await paddock.request('POST', '/v1/projects/web/clusters', {
      name: 'up-1',
      nodePools: [
        { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
        { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
      ],
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
    // The backend's default (the simulator's first RKE1 version), as the sync reports it.
    const synced = async () => (await paddock.request('GET', '/v1/projects/web/clusters/up-1')).body;
    for (let i = 0; i < 100 && (await synced()).kubernetesVersion !== 'v1.31.9'; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((await synced()).kubernetesVersion, 'v1.31.9');

    const upgraded = await paddockCli([
      'clusters',
      'upgrade',
      'up-1',
      '--version',
      'v1.32',
      '--wait',
      '-o',
      'json',
    ]);
    assert.equal(upgraded.code, 0, upgraded.stderr);
    assert.equal((JSON.parse(upgraded.stdout) as { state: string }).state, 'succeeded');
    assert.match(upgraded.stderr, /step await-upgraded succeeded/);
    assert.equal((await synced()).kubernetesVersion, 'v1.32.5');

    const downgrade = await paddockCli(['clusters', 'upgrade', 'up-1', '--version', 'v1.31.9']);
    assert.equal(downgrade.code, 2, downgrade.stderr);
    assert.match(downgrade.stderr, /DOWNGRADE_NOT_ALLOWED/);
    const deleted = await paddockCli(['clusters', 'delete', 'up-1', '--wait']);
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('nodes replace --wait replaces a worker (exit 0); the lone etcd/controlplane node is refused (exit 2, WOULD_LOSE_QUORUM)', async () => {
    const listed = await paddock.request('GET', '/v1/projects/web/clusters/cli-bk/nodes');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const nodes: Array<{ id: string; hostname: string; nodePool: string }> = listed.body.items;
    const worker = nodes.find((n) => n.nodePool === 'workers');
    const control = nodes.find((n) => n.nodePool === 'control');
    assert.ok(worker && control, JSON.stringify(nodes));
    const replaced = await paddockCli([
      'nodes',
      'replace',
      'cli-bk',
      worker.hostname,
      '--wait',
      '-o',
      'json',
    ]);
    assert.equal(replaced.code, 0, replaced.stderr);
    const op = JSON.parse(replaced.stdout) as { type: string; state: string };
    assert.deepEqual([op.type, op.state], ['replace-node', 'succeeded']);
    const after = (await paddock.request('GET', '/v1/projects/web/clusters/cli-bk/nodes')).body
      .items as Array<{
      id: string;
    }>;
    assert.ok(!after.some((n) => n.id === worker.id), 'the old worker is gone');
    const refused = await paddockCli(['nodes', 'replace', 'cli-bk', control.hostname]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /WOULD_LOSE_QUORUM/);
  });

  it('--help describes every command and exits 0', async () => {
    const help = await paddockCli(['--help']);
    assert.equal(help.code, 0);
    for (const command of ['clusters', 'ops', 'kubeconfig', 'quota', 'pools', 'backups', 'nodes', 'addons'])
      assert.match(help.stdout, new RegExp(command));
    assert.match(help.stdout, /Exit codes: 0 done, 1 the operation failed, 2 bad usage/);
    for (const sub of [
      ['clusters', 'create'],
      ['ops', 'cancel'],
      ['pools', 'scale'],
      ['backups', 'restore'],
      ['clusters', 'upgrade'],
      ['nodes', 'replace'],
      ['addons', 'create'],
      ['addons', 'rollout', 'resume'],
      ['clusters', 'addons', 'install'],
    ]) {
      const page = await paddockCli([...sub, '--help']);
      assert.equal(page.code, 0);
      assert.match(page.stdout, /Usage: paddock/);
    }
  });
});
