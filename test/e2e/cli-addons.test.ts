/**
 * The `paddock` addon commands, run as child processes as a CI job or an SRE runs them, against a
 * started Paddock and a simulated Rancher 2.12 whose Fleet delivers addons (HelmOps): the catalog,
 * a rollout followed to its end or its pause, a cluster's opt-in and opt-out, and a create that
 * waits for its required addons. A file of its own: the machine's load must not push it and
 * cli.test.ts together past one file's time limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { runCli } from '../support/cli';
import { scratch } from '../support/kube';
import { issueToken, startPaddock, TEST_ADMIN_TOKEN, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const SPEC = `
nodePools:
  - {name: control, roles: [etcd, controlplane], quantity: 1, flavor: m1.large}
  - {name: workers, roles: [worker], quantity: 1, flavor: m1.large}
`;

describe('the paddock CLI on addons (a simulated Rancher 2.12: Fleet HelmOps)', () => {
  let sim: TestSimulator;
  let paddock: TestPaddock;
  let files: ReturnType<typeof scratch>;
  let ci: string;
  let spec: string;
  let repo: string;

  /** The ci token of project `web`; `admin` for the catalog. */
  const asCi = (args: string[]) => runCli(args, { PADDOCK_URL: paddock.url, PADDOCK_TOKEN: ci });
  const asAdmin = (args: string[]) =>
    runCli(args, { PADDOCK_URL: paddock.url, PADDOCK_TOKEN: TEST_ADMIN_TOKEN, PADDOCK_PROJECT: 'web' });

  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: '60000' } });
    files = scratch();
    spec = files.file('cluster.yaml', SPEC);
    repo = `${sim.url}/charts`;
    assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
    ci = (await issueToken(paddock, { subject: 'ci-web', role: 'ci', project: 'web' })).secret;
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    files?.cleanup();
  });

  it('addons create/list/get keep the catalog (exit 2 naming an unlisted version, 5 for a ci token)', async () => {
    const created = await asAdmin([
      'addons',
      'create',
      'ingress',
      '--repo',
      repo,
      '--chart',
      'ingress-nginx',
      '--version',
      '4.11.3',
      '--required',
      '--max-failures',
      '0',
      '--values',
      files.file('ingress-values.yaml', 'replicaCount: 2\n'),
      '-o',
      'json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const addon = JSON.parse(created.stdout);
    assert.deepEqual(
      [addon.name, addon.namespace, addon.required, addon.values, addon.rollout.maxFailures],
      ['ingress', 'ingress', true, { replicaCount: 2 }, 0],
    );
    const listed = await asAdmin(['addons', 'list', '-o', 'yaml']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (parse(listed.stdout) as Array<{ name: string }>).map((a) => a.name),
      ['ingress'],
    );
    const table = await asAdmin(['addons', 'get', 'ingress']);
    assert.match(table.stdout, /^NAME\s+CHART\s+VERSION/);
    assert.match(table.stdout, /ingress\s+ingress-nginx\s+4\.11\.3\s+ingress\s+true/);

    const unlisted = await asAdmin([
      'addons',
      'create',
      'other',
      '--repo',
      repo,
      '--chart',
      'ingress-nginx',
      '--version',
      '9.9.9',
    ]);
    assert.equal(unlisted.code, 2, unlisted.stderr);
    assert.match(unlisted.stderr, /^error: CHART_VERSION_NOT_FOUND: /m);
    const badName = await asAdmin([
      'addons',
      'create',
      'Bad_Name',
      '--repo',
      repo,
      '--chart',
      'x',
      '--version',
      '1.0.0',
    ]);
    assert.equal(badName.code, 2, badName.stderr);
    assert.match(badName.stderr, /^ {2}name: /m);
    const badCount = await asAdmin(['addons', 'update', 'ingress', '--max-failures', 'some']);
    assert.equal(badCount.code, 2);
    assert.match(badCount.stderr, /--max-failures/);
    const denied = await asCi(['addons', 'list']);
    assert.equal(denied.code, 5, denied.stderr);
    assert.equal((await paddock.db.query(`SELECT name FROM addons`)).rowCount, 1, 'only ingress was written');
  });

  it('clusters create --wait-addons exits 0 once the required addon reads installed', async () => {
    const created = await asCi([
      'clusters',
      'create',
      '-f',
      spec,
      '--name',
      'a1',
      '--wait-addons',
      '--timeout',
      '2m',
      '-o',
      'json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(JSON.parse(created.stdout).state, 'active');
    assert.match(created.stderr, /addons installed: ingress 4\.11\.3/);
    const addons = await asCi(['clusters', 'addons', 'a1', '-o', 'json']);
    assert.equal(addons.code, 0, addons.stderr);
    assert.deepEqual(
      (JSON.parse(addons.stdout) as Array<{ addon: string; state: string; version: string }>).map((a) => [
        a.addon,
        a.state,
        a.version,
      ]),
      [['ingress', 'installed', '4.11.3']],
    );
  });

  it('clusters addons install/uninstall --wait opt a cluster in and out; a required addon exits 4', async () => {
    const created = await asAdmin([
      'addons',
      'create',
      'svc',
      '--repo',
      repo,
      '--chart',
      'service-operator',
      '--version',
      '1.0.0',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const values = files.file('svc-values.json', '{"tier": "gold"}');
    const installed = await asCi([
      'clusters',
      'addons',
      'install',
      'a1',
      'svc',
      '--values',
      values,
      '--wait',
      '-o',
      'json',
    ]);
    assert.equal(installed.code, 0, installed.stderr);
    const op = JSON.parse(installed.stdout);
    assert.deepEqual([op.type, op.state], ['install-addon', 'succeeded']);
    assert.match(installed.stderr, /step await-addon succeeded/);
    const table = await asCi(['clusters', 'addons', 'list', 'a1']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ADDON\s+REQUIRED\s+VERSION\s+STATE/);
    assert.match(table.stdout, /svc\s+false\s+1\.0\.0\s+installed\s+\{"tier":"gold"\}/);

    const required = await asCi(['clusters', 'addons', 'uninstall', 'a1', 'ingress']);
    assert.equal(required.code, 4, required.stderr);
    assert.match(required.stderr, /^error: ADDON_REQUIRED: /m);
    const badValues = await asCi([
      'clusters',
      'addons',
      'install',
      'a1',
      'svc',
      '--values',
      files.file('list.yaml', '- a\n'),
    ]);
    assert.equal(badValues.code, 2);
    assert.match(badValues.stderr, /values file .*list\.yaml: expected a mapping/);

    const removed = await asCi(['clusters', 'addons', 'uninstall', 'a1', 'svc', '--wait', '-o', 'json']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(JSON.parse(removed.stdout).state, 'succeeded');
    const after = JSON.parse((await asCi(['clusters', 'addons', 'a1', '-o', 'json'])).stdout) as Array<{
      addon: string;
    }>;
    assert.deepEqual(
      after.map((a) => a.addon),
      ['ingress'],
    );
    const gone = await asAdmin(['addons', 'delete', 'svc', '--wait', '--timeout', '1m']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal((await paddock.request('GET', '/v1/admin/addons/svc')).status, 404);
  });

  it('addons update --version --wait follows the rollout to completed; addons rollout shows it per backend', async () => {
    const updated = await asAdmin([
      'addons',
      'update',
      'ingress',
      '--version',
      '4.12.0',
      '--wait',
      '--timeout',
      '2m',
      '-o',
      'json',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    const rollout = JSON.parse(updated.stdout);
    assert.deepEqual(
      [rollout.version, rollout.state, rollout.ready, rollout.total],
      ['4.12.0', 'completed', 1, 1],
    );
    const table = await asAdmin(['addons', 'rollout', 'ingress']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^version 4\.12\.0 completed: 1\/1 ready, 0 failed, 0 pending/);
    assert.match(table.stdout, /sim-a\s+helmop\s+applied\s+1\s+1\s+0\s+0/);
    const notPaused = await asAdmin(['addons', 'rollout', 'resume', 'ingress']);
    assert.equal(notPaused.code, 4, notPaused.stderr);
    assert.match(notPaused.stderr, /ROLLOUT_NOT_PAUSED/);
    const nothing = await asAdmin(['addons', 'update', 'ingress']);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to change/);
  });

  it('a failing version: update --wait exits 1 on the pause naming the cluster, resume --wait exits 1 once every cluster failed, create --wait-addons exits 1 naming the addon', async () => {
    const failing = await asAdmin([
      'addons',
      'update',
      'ingress',
      '--version',
      '4.13.0-fail',
      '--max-unavailable',
      '100%',
      '--wait',
      '--timeout',
      '2m',
    ]);
    assert.equal(failing.code, 1, failing.stderr);
    assert.match(
      failing.stderr,
      /^error: ROLLOUT_PAUSED: 1 of 1 clusters failed at 4\.13\.0-fail: web\/a1 \(.*pre-install hook/m,
    );
    const shown = await asAdmin(['addons', 'rollout', 'ingress']);
    assert.match(shown.stdout, /^version 4\.13\.0-fail paused/);
    assert.match(shown.stdout, /PROJECT\s+CLUSTER\s+BACKEND[\s\S]*web\s+a1\s+sim-a/);

    const resumed = await asAdmin(['addons', 'rollout', 'resume', 'ingress', '--wait', '--timeout', '2m']);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.match(resumed.stderr, /rollout of ingress resumed/);
    assert.match(resumed.stderr, /^error: ROLLOUT_FAILED: 1 of 1 clusters failed at 4\.13\.0-fail: web\/a1/m);

    const created = await asCi([
      'clusters',
      'create',
      '-f',
      spec,
      '--name',
      'a2',
      '--wait-addons',
      '--timeout',
      '2m',
    ]);
    assert.equal(created.code, 1, created.stderr);
    assert.match(
      created.stderr,
      /^error: ADDON_FAILED: addon ingress 4\.13\.0-fail failed on web\/a2: .*pre-install hook/m,
    );
  });
});
