/**
 * The S3 keys stay with Paddock and the backend: after creates, backups, a restore and a failed
 * restore on each backend kind (rke2 keeps them in a cloud credential), and a refused S3 call,
 * neither key is in any HTTP answer, any log line of the API or the worker (child processes at
 * LOG_LEVEL=debug), any Redis key or value of the run (job data included), or any Postgres row
 * (audit and operations included).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestS3, TestS3 } from '../support/s3';
import { dumpDatabase, dumpRedis } from '../support/secrets';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'bs';

describe('S3 keys never leak', () => {
  let s3: TestS3;
  let sim: TestSimulator;
  let sim212: TestSimulator;
  let paddock: TestPaddock;
  const answers: string[] = [];

  async function call(method: string, path: string, body?: unknown) {
    const response = await paddock.request(method, path, body);
    answers.push(
      `${method} ${path} → ${response.status} ${[...response.headers.entries()].join(';')} ${JSON.stringify(response.body)}`,
    );
    return response;
  }

  before(async () => {
    s3 = await startTestS3();
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }], timings: { etcdBackupMs: 50 } });
    paddock = await startPaddock({
      api: 'child',
      workers: 'child',
      captureOutput: true,
      env: { ...s3.env, LOG_LEVEL: 'debug', PADDOCK_OPERATION_DEADLINE_MS: '20000' },
    });
    assert.equal((await paddock.registerBackend('bs-sim', sim, { region: 'r1' })).status, 201);
    // An rke2 backend too: its keys go into a cloud credential on the backend.
    sim212 = await startTestSimulator({ version: 'v2.12.3', timings: { etcdBackupMs: 50 } });
    assert.equal((await paddock.registerBackend('bs-rke2', sim212, { region: 'r2' })).status, 201);
    assert.equal((await call('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await sim212?.close();
    await s3?.close();
  });

  for (const [kind, region] of [
    ['rke1', 'r1'],
    ['rke2', 'r2'],
  ] as const) {
    it(`${kind}: a backup, a restore and a failed restore`, async () => {
      const name = `keys-${kind}`;
      const created = await call('POST', `/v1/projects/${PROJECT}/clusters`, clusterBody(name, { region }));
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const op = await paddock.waitForOperation(created.body.operation.id);
      assert.equal(op.state, 'succeeded', JSON.stringify(op.steps));
      const cluster = `/v1/projects/${PROJECT}/clusters/${name}`;

      const backup = await call('POST', `${cluster}/backups`);
      assert.equal((await paddock.waitForOperation(backup.body.id)).state, 'succeeded');
      const list = await waitFor('the backup listed', async () => {
        const answer = await call('GET', `${cluster}/backups`);
        return answer.body.items.length > 0 ? answer.body : undefined;
      });
      const restore = await call('POST', `${cluster}/backups/${list.items[0].name}/restore`, {});
      assert.equal((await paddock.waitForOperation(restore.body.id)).state, 'succeeded');

      // A restore that fails in the backend (its snapshot is gone) and reports an S3 error.
      for (const o of await s3.objects(list.bucket)) await s3.deleteObject(list.bucket, o.key);
      const failing = await call('POST', `${cluster}/backups/${list.items[0].name}/restore`, {});
      const failed = await paddock.waitForOperation(failing.body.id);
      assert.equal(failed.error.code, 'RESTORE_FAILED');
      await call('GET', `/v1/operations/${failing.body.id}`);
    });
  }

  it('after both runs and a create while S3 is down, the keys are nowhere', async () => {
    // A create while S3 is down: the store's errors are logged and recorded on the steps.
    await s3.stop();
    try {
      const down = await call(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody('keys-down', { region: 'r1' }),
      );
      await waitFor('the bucket step to have failed at least once', async () => {
        const op = (await call('GET', `/v1/operations/${down.body.operation.id}`)).body;
        return op.steps.some((s: { lastError: string | null }) => s.lastError) || undefined;
      });
    } finally {
      await s3.start();
    }
    await call('GET', `/v1/projects/${PROJECT}/clusters`);
    await call('GET', '/v1/admin/audit?limit=200');

    const needles = [s3.secretAccessKey, s3.accessKeyId];
    const found = (where: string, text: string) =>
      needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: ${needle.slice(0, 6)}…`);
    const leaks = [
      ...answers.flatMap((a) => found('answer', a)),
      ...found('logs', paddock.output()),
      ...(await dumpRedis(paddock.redis, paddock.config.queuePrefix)).flatMap((e) =>
        found(`redis ${e.key}`, e.value),
      ),
      ...(await dumpDatabase(paddock)).flatMap((r) => found(`postgres ${r.table}`, r.row)),
    ];
    assert.deepEqual(leaks, []);
    // The checks above looked at something: the logs hold the run, the database its audit.
    assert.match(paddock.output(), /S3|bucket/i);
    assert.ok((await dumpDatabase(paddock)).some((r) => r.table === 'audit_events'));
  });
});
