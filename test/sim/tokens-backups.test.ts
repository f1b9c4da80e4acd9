/** Cluster registration tokens (§5) and etcd backups with restore (§6, §3.6). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, waitFor, waitForState, type TestSimulator } from '../support/simulator';
import { createActiveCluster, createCluster, QUICK, TEMPLATE } from './fixtures';

describe('registration tokens and etcd backups', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({
      timings: { ...QUICK, clusterUpdateMs: 150 },
      nodeTemplates: [TEMPLATE],
    });
  });
  after(() => sim.close());

  describe('cluster registration tokens', () => {
    it('fills the command fields asynchronously', async () => {
      const cluster = await createCluster(sim, 'register');
      const { status, body } = await sim.rancher('POST', '/v3/clusterregistrationtokens', {
        type: 'clusterRegistrationToken',
        clusterId: cluster.id,
        name: 'default-token',
      });
      assert.equal(status, 201);
      assert.equal(body.id, `${cluster.id}:default-token`);
      assert.equal(body.type, 'clusterRegistrationToken');
      assert.equal(body.namespaceId, null);
      assert.equal(body.token, '');
      assert.equal(body.command, '');
      assert.equal(body.nodeCommand, '');

      const filled = await waitFor(async () => {
        const token = (await sim.rancher('GET', `/v3/clusterRegistrationTokens/${body.id}`)).body;
        return token.nodeCommand !== '' ? token : undefined;
      });
      assert.match(filled.token, /^[bcdfghjklmnpqrstvwxz2456789]{54}$/);
      assert.equal(filled.manifestUrl, `${sim.url}/v3/import/${filled.token}_${cluster.id}.yaml`);
      assert.equal(filled.command, `kubectl apply -f ${filled.manifestUrl}`);
      assert.equal(filled.insecureCommand, `curl --insecure -sfL ${filled.manifestUrl} | kubectl apply -f -`);
      assert.equal(
        filled.nodeCommand,
        'sudo docker run -d --privileged --restart=unless-stopped --net=host -v /etc/kubernetes:/etc/kubernetes ' +
          `-v /var/run:/var/run rancher/rancher-agent:v2.11.3 --server ${sim.url} --token ${filled.token}`,
      );
      const listed = await sim.rancher('GET', `/v3/clusterregistrationtokens?clusterId=${cluster.id}`);
      assert.deepEqual(
        listed.body.data.map((t: any) => t.id),
        [body.id],
      );
    });

    it('answers 409 AlreadyExists for a duplicate name and generates names otherwise', async () => {
      const cluster = await createCluster(sim, 'register-twice');
      const body = { clusterId: cluster.id, name: 'default-token' };
      assert.equal((await sim.rancher('POST', '/v3/clusterregistrationtokens', body)).status, 201);
      const duplicate = await sim.rancher('POST', '/v3/clusterregistrationtokens', body);
      assert.equal(duplicate.status, 409);
      assert.deepEqual(duplicate.body, {
        baseType: 'error',
        type: 'error',
        status: 409,
        code: 'AlreadyExists',
        message: 'clusterregistrationtokens.management.cattle.io "default-token" already exists',
      });
      const generated = await sim.rancher('POST', '/v3/clusterregistrationtokens', { clusterId: cluster.id });
      assert.match(generated.body.id, new RegExp(`^${cluster.id}:crt-[a-z0-9]{5}$`));
      const orphan = await sim.rancher('POST', '/v3/clusterregistrationtokens', { clusterId: 'c-nope0' });
      assert.equal(orphan.body.message, 'InvalidReference 422: Not found type: cluster id: c-nope0');
    });
  });

  describe('etcd backups', () => {
    it('backs up via the action, answering the raw k8s object, activating → active', async () => {
      const { cluster } = await createActiveCluster(sim, 'backup');
      const { status, body } = await sim.rancher('POST', `/v3/clusters/${cluster.id}?action=backupEtcd`);
      assert.equal(status, 200);
      assert.equal(body.apiVersion, 'management.cattle.io/v3');
      assert.equal(body.kind, 'EtcdBackup');
      assert.equal(body.metadata.namespace, cluster.id);
      assert.match(body.metadata.name, new RegExp(`^${cluster.id}-ml-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(body.spec.clusterId, cluster.id);
      assert.equal(body.spec.manual, true);
      assert.match(
        body.spec.filename,
        new RegExp(`^${body.metadata.name}_\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\.zip$`),
      );
      assert.deepEqual(body.spec.backupConfig, { enabled: true, intervalHours: 12, retention: 6 });

      const id = `${cluster.id}:${body.metadata.name}`;
      const running = (await sim.rancher('GET', `/v3/etcdBackups/${id}`)).body;
      assert.equal(running.type, 'etcdBackup');
      assert.equal(running.state, 'activating');
      assert.equal(running.namespaceId, null);
      assert.deepEqual(
        running.status.conditions.map((c: any) => [c.type, c.status]),
        [
          ['Created', 'True'],
          ['Completed', 'Unknown'],
        ],
      );
      const done = await waitForState(sim, `/v3/etcdBackups/${id}`, 'active');
      assert.equal(done.status.kubernetesVersion, 'v1.31.9-rancher1-1');
      assert.equal(done.filename, body.spec.filename);
    });

    it('creates a backup with POST /v3/etcdbackups and names S3 backups -ms-', async () => {
      const cluster = await createCluster(sim, 'backup-s3', {
        rancherKubernetesEngineConfig: {
          services: {
            etcd: {
              backupConfig: {
                enabled: true,
                s3BackupConfig: { bucketName: 'bkt', endpoint: 's3.example.com', folder: 'f' },
              },
            },
          },
        },
      });
      const { status, body } = await sim.rancher('POST', '/v3/etcdbackups', {
        clusterId: cluster.id,
        manual: true,
      });
      assert.equal(status, 201);
      assert.match(body.id, new RegExp(`^${cluster.id}:${cluster.id}-ms-[a-z0-9]{5}$`));
      assert.match(body.filename, new RegExp(`^https://s3\\.example\\.com/bkt/f/${cluster.id}-ms-`));
      assert.equal(body.manual, true);
      assert.equal(body.state, 'activating');
      await waitForState(sim, `/v3/etcdbackups/${body.id}`, 'active');
    });

    it('reports failed when Completed turns False', async () => {
      const cluster = await createCluster(sim, 'backup-fail');
      const backup = (await sim.rancher('POST', '/v3/etcdbackups', { clusterId: cluster.id })).body;
      const failed = await sim.setCondition({
        type: 'etcdBackup',
        id: backup.id,
        condition: { type: 'Completed', status: 'False', reason: 'Error', message: 'snapshot upload failed' },
      });
      assert.equal(failed.state, 'failed');
      assert.equal(failed.transitioning, 'error');
      assert.equal(failed.transitioningMessage, 'snapshot upload failed');
    });

    it('restores from a backup through updating, validating the id', async () => {
      const { cluster } = await createActiveCluster(sim, 'restore');
      const backup = (await sim.rancher('POST', '/v3/etcdbackups', { clusterId: cluster.id, manual: true }))
        .body;
      await waitForState(sim, `/v3/etcdbackups/${backup.id}`, 'active');
      const path = `/v3/clusters/${cluster.id}`;

      const malformed = await sim.rancher('POST', `${path}?action=restoreFromEtcdBackup`, {
        etcdBackupId: 'no-colon',
      });
      assert.equal(malformed.status, 422);
      assert.equal(malformed.body.code, 'InvalidFormat');
      const missing = await sim.rancher('POST', `${path}?action=restoreFromEtcdBackup`, {
        etcdBackupId: `${cluster.id}:${cluster.id}-ml-zzzzz`,
      });
      assert.equal(missing.status, 404);

      const restored = await sim.rancher('POST', `${path}?action=restoreFromEtcdBackup`, {
        etcdBackupId: backup.id,
        restoreRkeConfig: 'kubernetesVersion',
      });
      assert.equal(restored.status, 201);
      assert.deepEqual(restored.body, { message: 'restoring etcdbackup for the cluster' });
      const updating = (await sim.rancher('GET', path)).body;
      assert.equal(updating.state, 'updating');
      assert.deepEqual(updating.rancherKubernetesEngineConfig.restore, {
        restore: true,
        snapshotName: backup.id,
      });
      await waitForState(sim, path, 'active');
    });
  });
});
