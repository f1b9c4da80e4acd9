/**
 * etcd backups when things fail, against the real embedded S3 store and the simulator over HTTP:
 * S3 down during a create, the backend refusing the cluster or its pool, faults at each backup
 * and restore step, the bucket-on-delete setting. No failure may leave a bucket or a cluster
 * behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestS3, TestS3 } from '../support/s3';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'bf';

describe('etcd backups under faults', () => {
  let s3: TestS3;
  let sim: TestSimulator;
  let paddock: TestPaddock;

  const clusterPath = (name: string) => `/v1/projects/${PROJECT}/clusters/${name}`;
  const create = (name: string) =>
    paddock.request('POST', `/v1/projects/${PROJECT}/clusters`, clusterBody(name));
  const bucketOf = async (name: string): Promise<string> => {
    const { rows } = await paddock.db.query(
      `SELECT s.bucket FROM cluster_backup_settings s JOIN clusters c ON c.id = s.cluster_id
       WHERE c.name = $1 ORDER BY c.created_at DESC LIMIT 1`,
      [name],
    );
    return rows[0].bucket;
  };
  /** Clusters on the backend whose display name carries Paddock's name for `name`. */
  const remoteClusters = async (name: string) =>
    (
      (await sim.rancher('GET', '/v3/clusters?limit=1000')).body.data as Array<{
        name: string;
        state: string;
      }>
    ).filter((c) => c.name.includes(name));

  async function createActive(name: string) {
    const created = await create(name);
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const op = await paddock.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
  }

  async function run(path: string, body?: unknown) {
    const started = await paddock.request('POST', path, body);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return paddock.waitForOperation(started.body.id);
  }

  before(async () => {
    s3 = await startTestS3();
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }], timings: { etcdBackupMs: 50 } });
    paddock = await startPaddock({
      keepDatabase: true,
      env: { ...s3.env, PADDOCK_OPERATION_DEADLINE_MS: '6000' },
    });
    assert.equal((await paddock.registerBackend('bf-sim', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await s3?.close();
  });

  it('the simulator refuses a cluster whose S3 bucket is missing with a 500, as RKE1 does', async () => {
    const body = (bucketName: string, secretKey: string) => ({
      name: `direct-${bucketName.slice(0, 8)}`,
      rancherKubernetesEngineConfig: {
        services: {
          etcd: {
            backupConfig: {
              enabled: true,
              intervalHours: 12,
              retention: 6,
              s3BackupConfig: { bucketName, endpoint: s3.endpoint, accessKey: s3.accessKeyId, secretKey },
            },
          },
        },
      },
    });
    const missing = await sim.rancher('POST', '/v3/clusters', body('no-such-bucket', s3.secretAccessKey));
    assert.equal(missing.status, 500);
    assert.equal(missing.body.code, 'ServerError');
    assert.equal(
      missing.body.message,
      'Unable to validate S3 backup target configuration: bucket [no-such-bucket] not found',
    );
    assert.equal((await remoteClusters('direct-no-such')).length, 0, 'nothing was written');
  });

  it('S3 down during create: the create fails and compensates; no cluster on the backend, no bucket', async () => {
    await sim.clearCalls();
    await s3.stop();
    let stopped = true;
    try {
      const created = await create('s3down');
      assert.equal(created.status, 202);
      const id = created.body.operation.id;
      await waitFor('the create to turn to compensation', async () => {
        const op = (await paddock.request('GET', `/v1/operations/${id}`)).body;
        return op.steps.some((s: { name: string }) => s.name.startsWith('compensate:')) || undefined;
      });
      await s3.start();
      stopped = false;
      const op = await paddock.waitForOperation(id);
      assert.equal(op.state, 'failed');
      const ensure = op.steps.find((s: { name: string }) => s.name === 'ensure-bucket');
      assert.equal(ensure.state, 'failed');
      assert.match(ensure.lastError, /BACKUP_STORAGE_UNAVAILABLE|no answer from the store/);
      assert.equal(op.steps.find((s: { name: string }) => s.name === 'create-cluster').state, 'pending');
      assert.equal((await remoteClusters('s3down')).length, 0);
      assert.equal(await s3.bucketExists(await bucketOf('s3down')), false);
      assert.equal(
        (await sim.calls()).filter((c) => c.method === 'POST' && c.path === '/v3/clusters').length,
        0,
      );
    } finally {
      if (stopped) await s3.start();
    }
  });

  for (const [what, fault] of [
    [
      'the backend refuses the cluster',
      { method: 'POST', path: '^/v3/clusters$', status: 422, code: 'InvalidFormat' },
    ],
    [
      'the backend refuses the node pool',
      { method: 'POST', path: '^/v3/nodepools$', status: 422, code: 'InvalidFormat' },
    ],
  ] as const) {
    it(`${what}: compensation removes the cluster, then its bucket`, async () => {
      const name = what.includes('pool') ? 'poolrefused' : 'refused';
      await sim.faults.add(fault);
      try {
        const created = await create(name);
        const op = await paddock.waitForOperation(created.body.operation.id);
        assert.equal(op.state, 'failed');
        assert.equal(op.error.code, 'BACKEND_REJECTED');
        const names = op.steps.map((s: { name: string }) => s.name);
        assert.deepEqual(names.slice(-3), [
          'compensate:delete-cluster',
          'compensate:await-cluster-deleted',
          'compensate:remove-bucket',
        ]);
      } finally {
        await sim.faults.clear();
      }
      await waitFor(
        'no cluster left on the backend',
        async () => (await remoteClusters(name)).length === 0 || undefined,
      );
      assert.equal(await s3.bucketExists(await bucketOf(name)), false, 'no orphan bucket');
    });
  }

  it('faults at each backup step are retried and the backup still lands in S3', async () => {
    await createActive('flaky');
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'flaky'`)).rows[0]
      .rancher_id as string;
    // take-backup: a 503 (not retried by the client: taking one is not idempotent; the step retries).
    await sim.faults.add({ method: 'POST', path: `^/v3/clusters/${rancherId}$`, status: 503, times: 1 });
    // await-backup: two 500s on the backup's read.
    await sim.faults.add({ method: 'GET', path: '^/v3/etcdbackups/', status: 500, times: 2 });
    const op = await run(`${clusterPath('flaky')}/backups`);
    await sim.faults.clear();
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.ok(op.steps.find((s: { name: string }) => s.name === 'take-backup').attempts >= 2);
    const objects = await s3.objects(await bucketOf('flaky'));
    assert.equal(objects.length, 1);
  });

  it('a backup whose answer is lost is taken again; both land and the operation succeeds', async () => {
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'flaky'`)).rows[0]
      .rancher_id as string;
    await sim.faults.add({
      method: 'POST',
      path: `^/v3/clusters/${rancherId}$`,
      dropResponse: true,
      times: 1,
    });
    const op = await run(`${clusterPath('flaky')}/backups`);
    await sim.faults.clear();
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    // The lost one exists too: not idempotent on the backend, documented on TakeBackupStep.
    await waitFor(
      'both snapshots in the bucket',
      async () => (await s3.objects(await bucketOf('flaky'))).length === 3 || undefined,
    );
  });

  it('faults at each restore step are retried and the restore succeeds', async () => {
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'flaky'`)).rows[0]
      .rancher_id as string;
    const backup = (await paddock.request('GET', `${clusterPath('flaky')}/backups`)).body.items[0];
    await sim.faults.add({ method: 'POST', path: `^/v3/clusters/${rancherId}$`, status: 503, times: 1 });
    await sim.faults.add({ method: 'GET', path: `^/v3/clusters/${rancherId}$`, status: 500, times: 2 });
    const op = await run(`${clusterPath('flaky')}/backups/${backup.name}/restore`, {});
    await sim.faults.clear();
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.equal((await paddock.request('GET', clusterPath('flaky'))).body.state, 'active');
  });

  it('a restore the backend refuses fails without touching the cluster, which stays active', async () => {
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'flaky'`)).rows[0]
      .rancher_id as string;
    const backup = (await paddock.request('GET', `${clusterPath('flaky')}/backups`)).body.items[0];
    await sim.faults.add({
      method: 'POST',
      path: `^/v3/clusters/${rancherId}$`,
      status: 422,
      code: 'InvalidFormat',
    });
    const op = await run(`${clusterPath('flaky')}/backups/${backup.name}/restore`, {});
    await sim.faults.clear();
    assert.equal(op.state, 'failed');
    assert.equal(op.error.code, 'BACKEND_REJECTED');
    assert.equal((await paddock.request('GET', clusterPath('flaky'))).body.state, 'active');
  });

  describe('on an rke2 backend (provisioning v2 snapshots through a cloud credential)', () => {
    let v2: TestSimulator;
    const CLUSTERS_V1 = '/v1/provisioning.cattle.io.clusters';
    const createV2 = (name: string) =>
      paddock.request('POST', `/v1/projects/${PROJECT}/clusters`, clusterBody(name, { region: 'v2' }));
    /** Provisioning clusters and S3 cloud credentials left on the backend for `name`. */
    const leftOnV2 = async (name: string) => ({
      clusters: (
        (await v2.rancher('GET', `${CLUSTERS_V1}?limit=1000`)).body.data as Array<{ id: string }>
      ).filter((c) => c.id.includes(name)).length,
      credentials: (
        (await v2.rancher('GET', '/v3/cloudcredentials?limit=1000')).body.data as Array<{
          name: string;
          s3credentialConfig?: unknown;
        }>
      ).filter((c) => c.s3credentialConfig !== undefined).length,
    });
    const rancherName = async (name: string) =>
      String(
        (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = $1`, [name])).rows[0]
          .rancher_id,
      ).split('/')[1];

    before(async () => {
      v2 = await startTestSimulator({ version: 'v2.12.3', timings: { etcdBackupMs: 50 } });
      assert.equal((await paddock.registerBackend('bf-rke2', v2, { region: 'v2' })).status, 201);
    });
    after(() => v2?.close());

    it('S3 down during create: the create fails and compensates; no cluster, credential or bucket', async () => {
      await v2.clearCalls();
      await s3.stop();
      let stopped = true;
      try {
        const created = await createV2('v2s3down');
        assert.equal(created.status, 202, JSON.stringify(created.body));
        const id = created.body.operation.id;
        await waitFor('the create to turn to compensation', async () => {
          const op = (await paddock.request('GET', `/v1/operations/${id}`)).body;
          return op.steps.some((s: { name: string }) => s.name.startsWith('compensate:')) || undefined;
        });
        await s3.start();
        stopped = false;
        const op = await paddock.waitForOperation(id);
        assert.equal(op.state, 'failed');
        assert.equal(op.steps.find((s: { name: string }) => s.name === 'ensure-bucket').state, 'failed');
        assert.deepEqual(await leftOnV2('v2s3down'), { clusters: 0, credentials: 0 });
        assert.equal(await s3.bucketExists(await bucketOf('v2s3down')), false);
        assert.equal(
          (await v2.calls()).filter((c) => c.method === 'POST' && c.path === CLUSTERS_V1).length,
          0,
        );
      } finally {
        if (stopped) await s3.start();
      }
    });

    it('the backend refuses the cluster: compensation leaves no cluster, credential or bucket', async () => {
      await v2.faults.add({ method: 'POST', path: `^${CLUSTERS_V1}$`, status: 422, code: 'Invalid' });
      try {
        const created = await createV2('v2refused');
        const op = await paddock.waitForOperation(created.body.operation.id);
        assert.equal(op.state, 'failed', JSON.stringify(op));
        assert.equal(op.error.code, 'BACKEND_REJECTED');
        assert.equal(op.steps.at(-1).name, 'compensate:remove-bucket');
      } finally {
        await v2.faults.clear();
      }
      await waitFor('nothing left on the backend', async () => {
        const left = await leftOnV2('v2refused');
        return (left.clusters === 0 && left.credentials === 0) || undefined;
      });
      assert.equal(await s3.bucketExists(await bucketOf('v2refused')), false, 'no orphan bucket');
    });

    it('faults at each backup step are retried and the snapshot still lands in S3', async () => {
      const created = await createV2('v2flaky');
      assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
      const name = await rancherName('v2flaky');
      // take-backup: a 503 on the generation bump; await-backup: two 500s on the snapshot list.
      await v2.faults.add({
        method: 'PUT',
        path: `^${CLUSTERS_V1}/fleet-default/${name}$`,
        status: 503,
        times: 1,
      });
      await v2.faults.add({
        method: 'GET',
        path: '^/v1/rke.cattle.io.etcdsnapshots/',
        status: 500,
        times: 2,
      });
      const op = await run(`${clusterPath('v2flaky')}/backups`);
      await v2.faults.clear();
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.ok(op.steps.find((s: { name: string }) => s.name === 'take-backup').attempts >= 2);
      const objects = await s3.objects(await bucketOf('v2flaky'));
      assert.equal(objects.length, 1);
      assert.match(objects[0].key, /^on-demand-/);
    });

    it('faults at each restore step are retried and the restore succeeds', async () => {
      const name = await rancherName('v2flaky');
      const backup = (await paddock.request('GET', `${clusterPath('v2flaky')}/backups`)).body.items[0];
      await v2.faults.add({
        method: 'PUT',
        path: `^${CLUSTERS_V1}/fleet-default/${name}$`,
        status: 503,
        times: 1,
      });
      await v2.faults.add({
        method: 'GET',
        path: `^/v1/rke.cattle.io.rkecontrolplanes/fleet-default/${name}$`,
        status: 500,
        times: 2,
      });
      const op = await run(`${clusterPath('v2flaky')}/backups/${backup.name}/restore`, {});
      await v2.faults.clear();
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.ok(op.steps.find((s: { name: string }) => s.name === 'start-restore').attempts >= 2);
      assert.equal((await paddock.request('GET', clusterPath('v2flaky'))).body.state, 'active');
    });

    it('a restore the backend refuses fails without touching the cluster, which stays active', async () => {
      const name = await rancherName('v2flaky');
      const backup = (await paddock.request('GET', `${clusterPath('v2flaky')}/backups`)).body.items[0];
      await v2.faults.add({
        method: 'PUT',
        path: `^${CLUSTERS_V1}/fleet-default/${name}$`,
        status: 422,
        code: 'Invalid',
      });
      const op = await run(`${clusterPath('v2flaky')}/backups/${backup.name}/restore`, {});
      await v2.faults.clear();
      assert.equal(op.state, 'failed');
      assert.equal(op.error.code, 'BACKEND_REJECTED');
      assert.equal((await paddock.request('GET', clusterPath('v2flaky'))).body.state, 'active');
      const deleted = await paddock.request('DELETE', clusterPath('v2flaky'));
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
      assert.deepEqual(await leftOnV2('v2flaky'), { clusters: 0, credentials: 0 });
    });
  });

  it('with PADDOCK_BACKUP_BUCKET_ON_DELETE=delete, a delete empties and removes the bucket after the cluster', async () => {
    await paddock.close();
    paddock = await startPaddock({
      database: paddock.database,
      env: { ...s3.env, PADDOCK_BACKUP_BUCKET_ON_DELETE: 'delete' },
    });
    const bucket = await bucketOf('flaky');
    assert.ok((await s3.objects(bucket)).length > 0);
    const deleted = await paddock.request('DELETE', clusterPath('flaky'));
    assert.equal(deleted.status, 202);
    const op = await paddock.waitForOperation(deleted.body.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.deepEqual(
      op.steps.map((s: { name: string }) => s.name),
      ['delete-cluster', 'await-cluster-deleted', 'remove-bucket'],
    );
    assert.equal(await s3.bucketExists(bucket), false);
    assert.equal((await remoteClusters('flaky')).length, 0);
  });
});
