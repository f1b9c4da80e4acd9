/**
 * etcd backups end to end: Paddock (real Postgres, Redis, workers) against the simulator over
 * HTTP, and the simulator and Paddock both against the real S3 API of the embedded store.
 * Create makes the cluster's bucket first and points the cluster's recurring backups at it; a
 * backup lands as a zip in the bucket; recurring ones rotate by retention; a restore reads the
 * snapshot back, and fails with RESTORE_FAILED when the object is gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestS3, TestS3 } from '../support/s3';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'bk';

describe('etcd backups to S3', () => {
  let s3: TestS3;
  let sim: TestSimulator;
  let sim212: TestSimulator;
  let paddock: TestPaddock;

  const clusterPath = (name: string) => `/v1/projects/${PROJECT}/clusters/${name}`;
  const rancherCluster = async (name: string) => {
    const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = $1`, [name]);
    return (await sim.rancher('GET', `/v3/clusters/${rows[0].rancher_id}`)).body;
  };
  const bucketOf = async (name: string): Promise<string> =>
    (await paddock.request('GET', `${clusterPath(name)}/backups`)).body.bucket;

  async function createActive(name: string, backup?: { intervalHours: number; retention: number }) {
    const created = await paddock.request(
      'POST',
      `/v1/projects/${PROJECT}/clusters`,
      clusterBody(name, backup ? { backup } : {}),
    );
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const op = await paddock.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    return op;
  }

  async function takeBackup(name: string) {
    const started = await paddock.request('POST', `${clusterPath(name)}/backups`);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.headers.get('location'), `/v1/operations/${started.body.id}`);
    return paddock.waitForOperation(started.body.id);
  }

  const listed = async (name: string) => (await paddock.request('GET', `${clusterPath(name)}/backups`)).body;

  before(async () => {
    s3 = await startTestS3();
    // Recurring backups every simulated hour of 600 ms; snapshots take 50 ms.
    sim = await startTestSimulator({
      nodeTemplates: [{ name: 'm1.large' }],
      timings: { backupHourMs: 600, etcdBackupMs: 50 },
    });
    paddock = await startPaddock({
      env: { ...s3.env, PADDOCK_BACKUP_INTERVAL_HOURS: '24', PADDOCK_BACKUP_RETENTION: '3' },
    });
    assert.equal((await paddock.registerBackend('bk-sim', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await sim212?.close();
    await s3?.close();
  });

  it('create makes the bucket before the cluster and sets the cluster backupConfig to it', async () => {
    const op = await createActive('alpha');
    assert.deepEqual(op.steps.map((s: { name: string }) => s.name).slice(0, 2), [
      'ensure-bucket',
      'create-cluster',
    ]);
    const bucket = await bucketOf('alpha');
    assert.match(bucket, new RegExp(`^${s3.env.PADDOCK_BACKUP_BUCKET_PREFIX}-[0-9a-f-]{36}$`));
    assert.equal(await s3.bucketExists(bucket), true);

    const remote = await rancherCluster('alpha');
    const backupConfig = remote.rancherKubernetesEngineConfig.services.etcd.backupConfig;
    assert.equal(backupConfig.enabled, true);
    assert.equal(backupConfig.intervalHours, 24, 'the configured default');
    assert.equal(backupConfig.retention, 3);
    assert.equal(backupConfig.s3BackupConfig.bucketName, bucket);
    assert.equal(backupConfig.s3BackupConfig.endpoint, s3.endpoint);
    assert.equal(backupConfig.s3BackupConfig.accessKey, s3.accessKeyId);
    assert.equal(backupConfig.s3BackupConfig.secretKey, '', 'Rancher moves the secret out of the spec');
    assert.deepEqual((await listed('alpha')).schedule, { intervalHours: 24, retention: 3 });
  });

  it('a backup now lands as a zip in the bucket and is listed as manual and active', async () => {
    const op = await takeBackup('alpha');
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.equal(op.type, 'take-backup');
    const list = await listed('alpha');
    assert.equal(list.items.length, 1);
    const [backup] = list.items;
    assert.equal(backup.kind, 'manual');
    assert.equal(backup.state, 'active');
    assert.match(
      backup.name,
      /^c-[a-z0-9]{5}-ms-[a-z0-9]{5}$/,
      'Rancher names a manual S3 backup <cluster>-ms-<random>',
    );
    assert.match(backup.kubernetesVersion, /^v\d+\.\d+\.\d+$/);
    const objects = await s3.objects(list.bucket);
    assert.equal(objects.length, 1);
    assert.match(
      objects[0].key,
      new RegExp(`^${backup.name}_\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\dZ\\.zip$`),
    );
    assert.ok(objects[0].size > 0);

    // The age of the newest good backup, and the schedule it is compared with, as gauges.
    const metrics = await fetch(`${paddock.url}/metrics`).then((r) => r.text());
    const age = new RegExp(
      `paddock_backup_newest_age_seconds\\{project="${PROJECT}",cluster="alpha"\\} ([\\d.e+-]+)`,
    ).exec(metrics);
    assert.ok(age, 'the age gauge of alpha');
    assert.ok(Number(age[1]) < 24 * 3600, 'younger than one interval: the backup just taken');
    assert.match(
      metrics,
      new RegExp(`paddock_backup_interval_seconds\\{project="${PROJECT}",cluster="alpha"\\} 86400`),
    );
  });

  it('recurring backups follow the schedule, are listed as recurring, and rotate by retention', async () => {
    await createActive('rota', { intervalHours: 1, retention: 2 });
    const bucket = await bucketOf('rota');
    const rancherId = (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'rota'`)).rows[0]
      .rancher_id as string;
    // Every recurring backup the backend ever showed: more than `retention` of them must be taken.
    const seen = new Set<string>();
    await waitFor('four recurring backups taken', async () => {
      const page = (await sim.rancher('GET', `/v3/etcdbackups?clusterId=${rancherId}&limit=1000`)).body.data;
      for (const b of page as Array<{ id: string; manual: boolean }>) if (!b.manual) seen.add(b.id);
      return seen.size >= 4 || undefined;
    });
    const kept = await waitFor('retention applied in the list and in the bucket', async () => {
      const recurring = (await listed('rota')).items.filter((b: { kind: string }) => b.kind === 'recurring');
      const objects = await s3.objects(bucket);
      const active = recurring.filter((b: { state: string }) => b.state === 'active');
      if (recurring.length !== 2 || active.length !== 2 || objects.length !== 2) return undefined;
      const names = active.map((b: { name: string }) => b.name).sort();
      const keys = objects.map((o) => o.key.replace(/_.*$/, '')).sort();
      return JSON.stringify(names) === JSON.stringify(keys) ? names : undefined;
    });
    for (const name of kept) assert.match(name, /^c-[a-z0-9]{5}-rs-[a-z0-9]{5}$/);
    assert.ok(seen.size > kept.length, `${seen.size} taken, ${kept.length} kept`);
  });

  it('restore in one call: the cluster reads updating, then active, and the operation succeeds', async () => {
    const [backup] = (await listed('alpha')).items;
    const started = await paddock.request(
      'POST',
      `${clusterPath('alpha')}/backups/${backup.name}/restore`,
      {},
    );
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.type, 'restore-backup');
    assert.equal((await paddock.request('GET', clusterPath('alpha'))).body.state, 'updating');
    const second = await paddock.request('POST', `${clusterPath('alpha')}/backups`);
    assert.equal(second.status, 409, 'refused while the restore runs');
    assert.equal(second.body.code, 'OPERATION_IN_PROGRESS');
    const op = await paddock.waitForOperation(started.body.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    assert.equal((await paddock.request('GET', clusterPath('alpha'))).body.state, 'active');
    const remote = await rancherCluster('alpha');
    assert.equal(remote.state, 'active');
    assert.equal(remote.rancherKubernetesEngineConfig.restore.restore, false);
  });

  it('a restore whose snapshot object was deleted from S3 fails with RESTORE_FAILED and the backend message', async () => {
    const op = await takeBackup('alpha');
    assert.equal(op.state, 'succeeded');
    const list = await listed('alpha');
    const newest = list.items.find((b: { kind: string }) => b.kind === 'manual');
    const object = (await s3.objects(list.bucket)).find((o) => o.key.startsWith(`${newest.name}_`));
    assert.ok(object, 'the snapshot is in the bucket');
    await s3.deleteObject(list.bucket, object.key);

    const started = await paddock.request('POST', `${clusterPath('alpha')}/backups/${newest.name}/restore`, {
      restoreKubernetesVersion: false,
    });
    assert.equal(started.status, 202);
    const failed = await paddock.waitForOperation(started.body.id);
    assert.equal(failed.state, 'failed');
    assert.equal(failed.error.code, 'RESTORE_FAILED');
    assert.match(failed.error.message, /Failed to restore etcd snapshot.*The specified key does not exist/);
    assert.equal((await paddock.request('GET', clusterPath('alpha'))).body.state, 'error');

    // Another restore, from a snapshot that is there, brings the cluster back.
    const good = list.items.find((b: { name: string }) => b.name !== newest.name);
    const again = await paddock.request('POST', `${clusterPath('alpha')}/backups/${good.name}/restore`, {});
    assert.equal(again.status, 202);
    assert.equal((await paddock.waitForOperation(again.body.id)).state, 'succeeded');
    assert.equal((await paddock.request('GET', clusterPath('alpha'))).body.state, 'active');
  });

  it('restore refuses a backup of another cluster (404), an unknown one (404) and bad input (400)', async () => {
    const theirs = (await listed('rota')).items[0];
    const other = await paddock.request('POST', `${clusterPath('alpha')}/backups/${theirs.name}/restore`, {});
    assert.equal(other.status, 404);
    const unknown = await paddock.request(
      'POST',
      `${clusterPath('alpha')}/backups/c-zzzzz-ms-zzzzz/restore`,
      {},
    );
    assert.equal(unknown.status, 404);
    const bad = await paddock.request('POST', `${clusterPath('alpha')}/backups/${theirs.name}/restore`, {
      restoreKubernetesVersion: 'yes',
    });
    assert.equal(bad.status, 400);
    const { rows } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM operations WHERE type = 'restore-backup' AND state IN ('pending', 'running')`,
    );
    assert.equal(rows[0].n, 0, 'nothing recorded');
  });

  it('a failed backup fails its operation with the backend message, and cannot be restored (409)', async () => {
    await createActive('broken');
    const bucket = await bucketOf('broken');
    // The bucket disappears behind Paddock's back: the upload fails as rke-tools' would.
    for (const o of await s3.objects(bucket)) await s3.deleteObject(bucket, o.key);
    const { DeleteBucketCommand, S3Client } = await import('@aws-sdk/client-s3');
    const raw = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
    raw.destroy();

    const op = await takeBackup('broken');
    assert.equal(op.state, 'failed');
    assert.equal(op.error.code, 'BACKUP_FAILED');
    assert.match(
      op.error.message,
      /failed to upload etcd snapshot file to s3: The specified bucket does not exist/,
    );
    const failed = await waitFor('the failed backup listed', async () =>
      (await listed('broken')).items.find((b: { state: string }) => b.state === 'failed'),
    );
    const restore = await paddock.request(
      'POST',
      `${clusterPath('broken')}/backups/${failed.name}/restore`,
      {},
    );
    assert.equal(restore.status, 409);
    assert.equal(restore.body.code, 'BACKUP_NOT_ACTIVE');
  });

  it('PUT …/backups/schedule and PATCH {backup} change the schedule on the backend; out-of-bounds schedules are 400 on create, PUT and PATCH', async () => {
    for (const backup of [
      { intervalHours: 0, retention: 3 },
      { intervalHours: 2, retention: 101 },
      { intervalHours: 1.5, retention: 2 },
    ]) {
      const create = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody('never', { backup }),
      );
      assert.equal(create.status, 400, JSON.stringify(backup));
      const patch = await paddock.request('PUT', `${clusterPath('alpha')}/backups/schedule`, backup);
      assert.equal(patch.status, 400, JSON.stringify(backup));
    }
    const started = await paddock.request('PUT', `${clusterPath('alpha')}/backups/schedule`, {
      intervalHours: 6,
      retention: 4,
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal((await paddock.waitForOperation(started.body.id)).state, 'succeeded');
    const backupConfig = (await rancherCluster('alpha')).rancherKubernetesEngineConfig.services.etcd
      .backupConfig;
    assert.equal(backupConfig.intervalHours, 6);
    assert.equal(backupConfig.retention, 4);
    assert.equal(backupConfig.s3BackupConfig.bucketName, await bucketOf('alpha'));
    assert.deepEqual((await listed('alpha')).schedule, { intervalHours: 6, retention: 4 });

    // The same change through PATCH of the cluster (with an expiry in the same transaction).
    const both = await paddock.request('PATCH', clusterPath('alpha'), {
      backup: { intervalHours: 8, retention: 5 },
      kubernetesVersion: 'v1.32.5',
    });
    assert.equal(both.status, 400, JSON.stringify(both.body));
    assert.equal(both.body.errors[0].field, 'backup');
    const badPatch = await paddock.request('PATCH', clusterPath('alpha'), {
      backup: { intervalHours: 0, retention: 5 },
    });
    assert.equal(badPatch.status, 400);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const patched = await paddock.request('PATCH', clusterPath('alpha'), {
      backup: { intervalHours: 8, retention: 5 },
      expiresAt,
    });
    assert.equal(patched.status, 202, JSON.stringify(patched.body));
    assert.equal(patched.body.type, 'update-backup-schedule');
    assert.equal((await paddock.waitForOperation(patched.body.id)).state, 'succeeded');
    const patchedConfig = (await rancherCluster('alpha')).rancherKubernetesEngineConfig.services.etcd
      .backupConfig;
    assert.equal(patchedConfig.intervalHours, 8);
    assert.equal(patchedConfig.retention, 5);
    assert.deepEqual((await listed('alpha')).schedule, { intervalHours: 8, retention: 5 });
    const cluster = (await paddock.request('GET', clusterPath('alpha'))).body;
    assert.equal(Date.parse(cluster.expiresAt), Date.parse(expiresAt));
    await paddock.request('PATCH', clusterPath('alpha'), { expiresAt: null });
  });

  it('delete keeps the bucket and its snapshots by default', async () => {
    const bucket = await bucketOf('rota');
    const deleted = await paddock.request('DELETE', clusterPath('rota'));
    assert.equal(deleted.status, 202);
    assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    assert.equal(await s3.bucketExists(bucket), true);
  });

  // Last: once an rke2 backend is registered, creates without a region may land on it.
  describe('on an rke2 backend (provisioning v2 snapshots through a cloud credential)', () => {
    const v2Cluster = async (name: string) => {
      const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = $1`, [name]);
      return (await sim212.rancher('GET', `/v1/provisioning.cattle.io.clusters/${rows[0].rancher_id}`)).body;
    };
    /** The object key of a listed snapshot, as its `snapshotFile` names it. */
    const fileOf = async (backup: string) =>
      (await sim212.rancher('GET', `/v1/rke.cattle.io.etcdsnapshots/fleet-default/${backup}`)).body
        .snapshotFile.name as string;
    let bucket: string;

    before(async () => {
      // A Rancher 2.12 registered as rke2, in a region of its own; snapshots take 50 ms and a
      // simulated hour 600 ms, as on the rke1 simulator.
      sim212 = await startTestSimulator({
        version: 'v2.12.3',
        timings: { backupHourMs: 600, etcdBackupMs: 50 },
      });
      assert.equal((await paddock.registerBackend('bk-rke2', sim212, { region: 'v2' })).status, 201);
    });

    it('create makes the bucket first and points rkeConfig.etcd at it through a credential holding the keys', async () => {
      const created = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        // A week between scheduled snapshots (100 s here), so the counts below are the manual ones.
        clusterBody('v2', { region: 'v2', backup: { intervalHours: 168, retention: 2 } }),
      );
      assert.equal(created.status, 202, JSON.stringify(created.body));
      const op = await paddock.waitForOperation(created.body.operation.id);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.equal(op.steps[0].name, 'ensure-bucket');
      bucket = await bucketOf('v2');
      assert.equal(await s3.bucketExists(bucket), true);
      assert.deepEqual((await listed('v2')).schedule, { intervalHours: 168, retention: 2 });

      const etcd = (await v2Cluster('v2')).spec.rkeConfig.etcd;
      assert.equal(etcd.snapshotScheduleCron, '0 0 */7 * *');
      assert.equal(etcd.snapshotRetention, 2);
      assert.equal(etcd.s3.bucket, bucket);
      // host:port, as RKE2 takes it; plain HTTP is asked for in the config.yaml Rancher writes.
      assert.equal(etcd.s3.endpoint, new URL(s3.endpoint).host);
      assert.equal((await v2Cluster('v2')).spec.rkeConfig.machineGlobalConfig['etcd-s3-insecure'], true);
      assert.match(etcd.s3.cloudCredentialName, /^cattle-global-data:cc-[a-z0-9]{5}$/);
      const credential = (await sim212.rancher('GET', `/v3/cloudcredentials/${etcd.s3.cloudCredentialName}`))
        .body;
      assert.equal(credential.s3credentialConfig.accessKey, s3.accessKeyId);
      assert.equal(credential.s3credentialConfig.defaultEndpoint, new URL(s3.endpoint).host);
      assert.ok(!JSON.stringify(etcd).includes(s3.secretAccessKey), 'no key in the cluster object');
      assert.ok(!JSON.stringify(op).includes(s3.secretAccessKey), 'no key in the operation');
    });

    it('a backup now lands as an object in the bucket and is listed active', async () => {
      const op = await takeBackup('v2');
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      const list = await listed('v2');
      assert.equal(list.items.length, 1, JSON.stringify(list));
      const [backup] = list.items;
      assert.equal(backup.state, 'active');
      const snapshot = (
        await sim212.rancher('GET', `/v1/rke.cattle.io.etcdsnapshots/fleet-default/${backup.name}`)
      ).body;
      assert.equal(
        snapshot.metadata.annotations['etcdsnapshot.rke.io/storage'],
        's3',
        'only the S3 copy is listed',
      );
      assert.match(backup.kubernetesVersion, /^v\d+\.\d+\.\d+/);
      const objects = await s3.objects(bucket);
      assert.equal(objects.length, 1);
      assert.equal(objects[0].key, await fileOf(backup.name));
      assert.match(objects[0].key, /^on-demand-/, 'RKE2 names an on-demand snapshot on-demand-<node>-<time>');
      assert.ok(objects[0].size > 0);

      // The kind as the status sync reads it from the backend, not as the operation recorded it:
      // the row is dropped and the next sync passes bring it back.
      await paddock.db.query(`DELETE FROM cluster_backups WHERE name = $1`, [backup.name]);
      const synced = await waitFor('the sync lists the backup again', async () => {
        const again = (await listed('v2')).items.find((b: { name: string }) => b.name === backup.name);
        return again ?? undefined;
      });
      assert.equal(synced.kind, 'manual');
      assert.equal(synced.state, 'active');
    });

    it('restore in one call succeeds once the control plane reports Finished', async () => {
      const [backup] = (await listed('v2')).items;
      const started = await paddock.request(
        'POST',
        `${clusterPath('v2')}/backups/${backup.name}/restore`,
        {},
      );
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const op = await paddock.waitForOperation(started.body.id);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      const restore = (await v2Cluster('v2')).spec.rkeConfig.etcdSnapshotRestore;
      assert.equal(restore.name, backup.name);
      assert.equal(restore.generation, 1);
      const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'v2'`);
      const controlPlane = (
        await sim212.rancher('GET', `/v1/rke.cattle.io.rkecontrolplanes/${rows[0].rancher_id}`)
      ).body;
      assert.equal(controlPlane.status.etcdSnapshotRestorePhase, 'Finished');
    });

    it('a restore whose object was deleted from the bucket fails with RESTORE_FAILED', async () => {
      const [first] = (await listed('v2')).items;
      assert.equal((await takeBackup('v2')).state, 'succeeded');
      const list = await listed('v2');
      assert.equal(list.items.length, 2, JSON.stringify(list));
      const target = list.items.find((b: { name: string }) => b.name !== first.name);
      const key = await fileOf(target.name);
      assert.ok(
        (await s3.objects(bucket)).some((o) => o.key === key),
        'the snapshot is in the bucket',
      );
      await s3.deleteObject(bucket, key);
      const started = await paddock.request(
        'POST',
        `${clusterPath('v2')}/backups/${target.name}/restore`,
        {},
      );
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const failed = await paddock.waitForOperation(started.body.id);
      assert.equal(failed.state, 'failed', JSON.stringify(failed));
      assert.equal(failed.error.code, 'RESTORE_FAILED');
      assert.match(failed.error.message, /The specified key does not exist/);
    });

    it('scheduled snapshots follow the cron, are listed as recurring, and rotate by snapshotRetention', async () => {
      const created = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody('v2rota', { region: 'v2', backup: { intervalHours: 1, retention: 2 } }),
      );
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
      const rotaBucket = await bucketOf('v2rota');
      assert.equal((await takeBackup('v2rota')).state, 'succeeded');
      const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = 'v2rota'`);
      const clusterName = String(rows[0].rancher_id).split('/')[1];
      const selector = encodeURIComponent(`rke.cattle.io/cluster-name=${clusterName}`);
      // Every scheduled S3 snapshot the backend ever showed: more than `retention` must be taken.
      const seen = new Set<string>();
      await waitFor('four scheduled snapshots taken', async () => {
        const page = (
          await sim212.rancher('GET', `/v1/rke.cattle.io.etcdsnapshots?labelSelector=${selector}`)
        ).body.data as Array<{ metadata: { name: string; annotations: Record<string, string> } }>;
        for (const s of page)
          if (
            s.metadata.annotations['etcdsnapshot.rke.io/storage'] === 's3' &&
            s.metadata.name.includes('-etcd-snapshot-')
          )
            seen.add(s.metadata.name);
        return seen.size >= 4 || undefined;
      });
      const kept = await waitFor('retention applied in the list and in the bucket', async () => {
        const items = (await listed('v2rota')).items as Array<{ name: string; kind: string; state: string }>;
        const recurring = items.filter((b) => b.kind === 'recurring' && b.state === 'active');
        const manual = items.filter((b) => b.kind === 'manual');
        const objects = await s3.objects(rotaBucket);
        if (recurring.length !== 2 || manual.length !== 1 || objects.length !== 3) return undefined;
        // A snapshot pruned since the last sync has no object to name: look again next time.
        const files = await Promise.all(
          items.map(
            async (b) =>
              (await sim212.rancher('GET', `/v1/rke.cattle.io.etcdsnapshots/fleet-default/${b.name}`)).body
                ?.snapshotFile?.name as string | undefined,
          ),
        );
        if (files.includes(undefined)) return undefined;
        const keys = objects.map((o) => o.key).sort();
        if (JSON.stringify([...files].sort()) !== JSON.stringify(keys)) return undefined;
        return recurring.map((b) => files[items.indexOf(b)] as string);
      });
      for (const file of kept) assert.match(file, /^etcd-snapshot-/);
      assert.ok(seen.size > kept.length, `${seen.size} taken, ${kept.length} kept`);
      const deleted = await paddock.request('DELETE', clusterPath('v2rota'));
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    });

    it("delete removes the cluster's credential once the cluster is gone, and keeps the bucket", async () => {
      const credential = (await v2Cluster('v2')).spec.rkeConfig.etcd.s3.cloudCredentialName;
      const deleted = await paddock.request('DELETE', clusterPath('v2'));
      assert.equal(deleted.status, 202);
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
      assert.equal((await sim212.rancher('GET', `/v3/cloudcredentials/${credential}`)).status, 404);
      assert.equal(await s3.bucketExists(bucket), true);
    });
  });
});
