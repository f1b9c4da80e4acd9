/** `rke.cattle.io.etcdsnapshots` and `etcdSnapshotRestore` (rancher-212.md §5.3, §5.4; rancher-api.md §6). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  startTestSimulator,
  waitFor,
  waitForGone,
  waitForSteveState,
  type TestSimulator,
} from '../support/simulator';
import { startTestS3, type TestS3 } from '../support/s3';
import { CLUSTERS_V1, createMachineConfig, QUICK, v2ClusterBody } from './fixtures';

const SNAPSHOTS = '/v1/rke.cattle.io.etcdsnapshots';
const ADMISSION =
  'admission webhook "rancher.cattle.io.clusters.provisioning.cattle.io" denied the request: ';

/** An active cluster with one etcd machine, backing up to S3 when `s3` is set. */
async function activeCluster(
  sim: TestSimulator,
  name: string,
  s3 = false,
  etcd?: Record<string, unknown>,
  machineGlobalConfig?: Record<string, unknown>,
): Promise<any> {
  const config = await createMachineConfig(sim, `nc-${name}-`);
  const body: any = v2ClusterBody(name, config.metadata.name);
  if (etcd) body.spec.rkeConfig.etcd = etcd;
  if (machineGlobalConfig) body.spec.rkeConfig.machineGlobalConfig = machineGlobalConfig;
  if (s3) {
    body.spec.rkeConfig.etcd = {
      snapshotScheduleCron: '0 */5 * * *',
      snapshotRetention: 5,
      s3: {
        bucket: 'etcd',
        endpoint: 's3.example.com',
        region: 'eu-1',
        folder: name,
        cloudCredentialName: 'cattle-global-data:cc-s3xx1',
      },
    };
  }
  assert.equal((await sim.rancher('POST', CLUSTERS_V1, body)).status, 201);
  return waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/${name}`, 'active');
}

/** Sets fields under `spec.rkeConfig` with a merge PATCH (no resourceVersion needed). */
async function patchRke(sim: TestSimulator, name: string, rkeConfig: Record<string, unknown>): Promise<any> {
  const response = await sim.rancher('PATCH', `${CLUSTERS_V1}/fleet-default/${name}`, {
    spec: { rkeConfig },
  });
  return response;
}

async function snapshotsOf(sim: TestSimulator, cluster: string, count: number): Promise<any[]> {
  const selector = encodeURIComponent(`rke.cattle.io/cluster-name=${cluster}`);
  return waitFor(
    async () => {
      const { body } = await sim.rancher('GET', `${SNAPSHOTS}?labelSelector=${selector}`);
      return body.data.length === count ? body.data : undefined;
    },
    { what: `${count} snapshots of ${cluster}` },
  );
}

describe('provisioning v2 etcd snapshots', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.14.1', timings: { ...QUICK, clusterUpdateMs: 160 } });
  });
  after(() => sim.close());

  it('takes a local and an S3 snapshot when etcdSnapshotCreate.generation moves', async () => {
    const cluster = await activeCluster(sim, 'snap', true);
    const machine = (await sim.rancher('GET', `/v1/cluster.x-k8s.io.machines/fleet-default`)).body.data.find(
      (m: any) => m.metadata.labels['cluster.x-k8s.io/cluster-name'] === 'snap',
    );
    assert.equal((await patchRke(sim, 'snap', { etcdSnapshotCreate: { generation: 1 } })).status, 200);
    const snapshots = await snapshotsOf(sim, 'snap', 2);
    const local = snapshots.find((s) => s.metadata.annotations['etcdsnapshot.rke.io/storage'] === 'local');
    const s3 = snapshots.find((s) => s.metadata.annotations['etcdsnapshot.rke.io/storage'] === 's3');

    assert.equal(local.type, 'rke.cattle.io.etcdsnapshot');
    assert.equal(local.kind, 'ETCDSnapshot');
    assert.equal(local.metadata.namespace, 'fleet-default');
    assert.equal(local.spec.clusterName, 'snap');
    assert.equal(local.metadata.labels['rke.cattle.io/node-name'], machine.metadata.name);
    assert.equal(local.metadata.labels['rke.cattle.io/machine-id'], machine.metadata.uid);
    const fileName = local.metadata.annotations['etcdsnapshot.rke.io/snapshot-name'];
    // `rke2 etcd-snapshot save` names on-demand snapshots `on-demand-<node>-<unix time>`.
    assert.match(fileName, new RegExp(`^on-demand-${machine.metadata.name}-\\d{10}$`));
    assert.equal(local.snapshotFile.name, fileName);
    assert.equal(local.snapshotFile.nodeName, machine.metadata.name);
    assert.equal(local.snapshotFile.status, 'successful');
    assert.match(local.snapshotFile.location, /^file:\/\/\/var\/lib\/rancher\/rke2\/server\/db\/snapshots\//);
    assert.ok(local.metadata.name.length <= 63);
    assert.ok(local.metadata.name.startsWith('snap-on-demand-'));
    assert.equal(local.metadata.state.name, 'active');

    assert.equal(s3.metadata.labels['rke.cattle.io/node-name'], undefined);
    assert.equal(s3.snapshotFile.location, `s3://etcd/snap/${s3.snapshotFile.name}`);
    assert.deepEqual(s3.snapshotFile.s3, {
      endpoint: 's3.example.com',
      endpointCA: '',
      skipSSLVerify: false,
      bucket: 'etcd',
      region: 'eu-1',
      folder: 'snap',
    });
    const recorded = JSON.parse(Buffer.from(s3.snapshotFile.metadata, 'base64').toString('utf8'));
    assert.equal(recorded.kubernetesVersion, cluster.spec.kubernetesVersion);

    // The same generation again takes nothing; the next one takes another pair.
    await patchRke(sim, 'snap', {
      etcdSnapshotCreate: { generation: 1 },
      upgradeStrategy: { workerConcurrency: '2' },
    });
    assert.equal((await patchRke(sim, 'snap', { etcdSnapshotCreate: { generation: 2 } })).status, 200);
    await snapshotsOf(sim, 'snap', 4);
  });

  it('restores through the control plane phases and back to active', async () => {
    await activeCluster(sim, 'rest');
    await patchRke(sim, 'rest', { etcdSnapshotCreate: { generation: 1 } });
    const [snapshot] = await snapshotsOf(sim, 'rest', 1);
    const restore = { name: snapshot.metadata.name, generation: 1, restoreRKEConfig: 'none' };
    assert.equal((await patchRke(sim, 'rest', { etcdSnapshotRestore: restore })).status, 200);

    const phases: string[] = [];
    const controlPlane = '/v1/rke.cattle.io.rkecontrolplanes/fleet-default/rest';
    await waitFor(
      async () => {
        const { body } = await sim.rancher('GET', controlPlane);
        const phase = body.status.etcdSnapshotRestorePhase;
        if (phases[phases.length - 1] !== phase) phases.push(phase);
        return phase === 'Finished';
      },
      { intervalMs: 2, what: () => `restore to finish (saw ${phases.join(' → ')})` },
    );
    assert.equal(phases[phases.length - 1], 'Finished');
    assert.ok(phases.length >= 2, phases.join());
    const finished = (await sim.rancher('GET', controlPlane)).body;
    assert.deepEqual(finished.status.etcdSnapshotRestore, restore);
    await waitForSteveState(sim, `${CLUSTERS_V1}/fleet-default/rest`, 'active');
  });

  it('puts the recorded Kubernetes version back with restoreRKEConfig kubernetesVersion', async () => {
    await activeCluster(sim, 'back');
    await patchRke(sim, 'back', { etcdSnapshotCreate: { generation: 1 } });
    const [snapshot] = await snapshotsOf(sim, 'back', 1);
    const path = `${CLUSTERS_V1}/fleet-default/back`;
    await sim.rancher('PATCH', path, { spec: { kubernetesVersion: 'v1.32.5+rke2r1' } });
    await waitForSteveState(sim, path, 'updating');
    await waitForSteveState(sim, path, 'active');

    const restore = { name: snapshot.metadata.name, generation: 1, restoreRKEConfig: 'kubernetesVersion' };
    assert.equal((await patchRke(sim, 'back', { etcdSnapshotRestore: restore })).status, 200);
    await waitForSteveState(sim, path, 'waiting');
    const restored = await waitForSteveState(sim, path, 'active');
    assert.equal(restored.spec.kubernetesVersion, 'v1.31.9+rke2r1');
    const twin = (await sim.rancher('GET', `/v3/clusters/${restored.status.clusterName}`)).body;
    assert.equal(twin.version.gitVersion, 'v1.31.9+rke2r1');
  });

  it('refuses (from 2.14) a restore of a snapshot that does not exist', async () => {
    await activeCluster(sim, 'ghost');
    const restore = { name: 'ghost-etcd-snapshot-nothing-local', generation: 1, restoreRKEConfig: 'all' };
    const response = await patchRke(sim, 'ghost', { etcdSnapshotRestore: restore });
    assert.equal(response.status, 400);
    assert.equal(response.body.code, 'BadRequest');
    assert.equal(
      response.body.message,
      `${ADMISSION}etcd restore references missing snapshot ghost-etcd-snapshot-nothing-local in namespace fleet-default`,
    );
    const cluster = (await sim.rancher('GET', `${CLUSTERS_V1}/fleet-default/ghost`)).body;
    assert.equal(cluster.spec.rkeConfig.etcdSnapshotRestore, undefined);
  });

  it('deletes a snapshot: 200 removing, then gone', async () => {
    await activeCluster(sim, 'prune');
    await patchRke(sim, 'prune', { etcdSnapshotCreate: { generation: 1 } });
    const [snapshot] = await snapshotsOf(sim, 'prune', 1);
    const deleted = await sim.rancher('DELETE', `${SNAPSHOTS}/${snapshot.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.metadata.state.name, 'removing');
    await waitForGone(sim, `${SNAPSHOTS}/${snapshot.id}`);
  });
});

describe('provisioning v2 restores on 2.12', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK });
  });
  after(() => sim.close());

  it('admits a restore of a missing snapshot (the webhook checks only from 2.14)', async () => {
    await activeCluster(sim, 'lax');
    const restore = { name: 'lax-etcd-snapshot-nothing-local', generation: 1, restoreRKEConfig: 'all' };
    const response = await patchRke(sim, 'lax', { etcdSnapshotRestore: restore });
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.spec.rkeConfig.etcdSnapshotRestore, restore);
  });
});

describe('provisioning v2 scheduled etcd snapshots', () => {
  let sim: TestSimulator;
  before(async () => {
    // One simulated hour is 300 ms: a `0 */1 * * *` schedule fires about three times a second.
    sim = await startTestSimulator({ version: 'v2.14.1', timings: { ...QUICK, backupHourMs: 300 } });
  });
  after(() => sim.close());

  it('takes etcd-snapshot-<node>-<time> on the cron, prunes beyond retention, and keeps on-demand ones', async () => {
    await activeCluster(sim, 'cron', false, { snapshotScheduleCron: '0 */1 * * *', snapshotRetention: 2 });
    const machine = (await sim.rancher('GET', `/v1/cluster.x-k8s.io.machines/fleet-default`)).body.data.find(
      (m: any) => m.metadata.labels['cluster.x-k8s.io/cluster-name'] === 'cron',
    );
    assert.equal((await patchRke(sim, 'cron', { etcdSnapshotCreate: { generation: 1 } })).status, 200);
    const selector = encodeURIComponent('rke.cattle.io/cluster-name=cron');
    const seen = new Set<string>();
    const listed = await waitFor(
      async () => {
        const { body } = await sim.rancher('GET', `${SNAPSHOTS}?labelSelector=${selector}`);
        const names: string[] = body.data.map((s: any) => s.snapshotFile.name);
        for (const name of names) if (name.startsWith('etcd-snapshot-')) seen.add(name);
        return seen.size >= 4 && names.some((n) => n.startsWith('on-demand-')) ? names : undefined;
      },
      { what: 'four scheduled snapshots and the on-demand one' },
    );
    const scheduled = listed.filter((n) => n.startsWith('etcd-snapshot-'));
    for (const name of scheduled)
      assert.match(name, new RegExp(`^etcd-snapshot-${machine.metadata.name}-\\d{10}$`));
    assert.ok(scheduled.length <= 2, `retention 2 keeps at most two: ${listed.join(', ')}`);
    const newest = [...seen].sort().slice(-scheduled.length);
    assert.deepEqual([...scheduled].sort(), newest, 'the oldest go first');
    assert.equal(
      listed.filter((n) => n.startsWith('on-demand-')).length,
      1,
      'on-demand snapshots are not pruned',
    );

    // Disabling snapshots stops the schedule.
    assert.equal((await patchRke(sim, 'cron', { etcd: { disableSnapshots: true } })).status, 200);
    const names = async () =>
      ((await sim.rancher('GET', `${SNAPSHOTS}?labelSelector=${selector}`)).body.data as any[])
        .map((s) => s.snapshotFile.name as string)
        .sort();
    await new Promise((resolve) => setTimeout(resolve, 400));
    const settled = await names();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.deepEqual(await names(), settled, 'no scheduled snapshot after disableSnapshots');
  });
});

describe('provisioning v2 S3 snapshots with the credential keys', () => {
  let sim: TestSimulator;
  let s3: TestS3;
  before(async () => {
    s3 = await startTestS3();
    sim = await startTestSimulator({ version: 'v2.14.1', timings: QUICK });
  });
  after(async () => {
    await sim.close();
    await s3.close();
  });

  const credential = async (name: string, accessKey: string) => {
    const created = await sim.rancher('POST', '/v3/cloudcredentials', {
      type: 'cloudCredential',
      name,
      s3credentialConfig: { accessKey, secretKey: s3.secretAccessKey },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return created.body.id as string;
  };

  it("uploads with the credential's keys: the right ones land, an unknown key id fails the snapshot", async () => {
    const host = new URL(s3.endpoint).host;
    await s3.ensureBucket('keys-ok');
    await s3.ensureBucket('keys-bad');
    for (const [name, accessKey] of [
      ['keys-ok', s3.accessKeyId],
      ['keys-bad', 'AKIA-NOT-A-KEY'],
    ] as const) {
      const id = await credential(`cred-${name}`, accessKey);
      await activeCluster(
        sim,
        name,
        false,
        { s3: { bucket: name, endpoint: host, region: s3.region, cloudCredentialName: id } },
        { 'etcd-s3-insecure': true },
      );
      assert.equal((await patchRke(sim, name, { etcdSnapshotCreate: { generation: 1 } })).status, 200);
    }
    const s3Snapshot = async (cluster: string) =>
      (await snapshotsOf(sim, cluster, 2)).find(
        (x) => x.metadata.annotations['etcdsnapshot.rke.io/storage'] === 's3',
      );
    const good = await s3Snapshot('keys-ok');
    assert.equal(good.snapshotFile.status, 'successful');
    assert.deepEqual(
      (await s3.objects('keys-ok')).map((o) => o.key),
      [good.snapshotFile.name],
    );
    const bad = await s3Snapshot('keys-bad');
    assert.equal(bad.snapshotFile.status, 'failed');
    // A HEAD answer has no body: minio-go reports the 403 of an unknown key id as access denied.
    assert.equal(
      bad.snapshotFile.message,
      'failed to get etcd S3 client: failed to test for existence of bucket keys-bad: Access Denied.',
    );
    assert.deepEqual(await s3.objects('keys-bad'), []);
  });

  it('takes the endpoint as k3s does: host:port over HTTPS unless etcd-s3-insecure, a scheme only when it agrees', async () => {
    const host = new URL(s3.endpoint).host;
    const id = await credential('cred-forms', s3.accessKeyId);
    // [cluster, endpoint, machineGlobalConfig, the S3 snapshot's status, its message]
    const cases: Array<[string, string, Record<string, unknown> | undefined, string, string?]> = [
      ['form-plain', host, { 'etcd-s3-insecure': true }, 'successful'],
      ['form-url-insecure', s3.endpoint, { 'etcd-s3-insecure': 'true' }, 'successful'],
      [
        'form-url',
        s3.endpoint,
        undefined,
        'failed',
        'failed to get etcd S3 client: Endpoint url scheme "http" conflicts with the secure option; remove the scheme from the endpoint or align the secure option.',
      ],
      [
        'form-https',
        host,
        undefined,
        'failed',
        'failed to get etcd S3 client: failed to test for existence of bucket form-https: http: server gave HTTP response to HTTPS client',
      ],
    ];
    for (const [name, endpoint, global] of cases) {
      await s3.ensureBucket(name);
      await activeCluster(
        sim,
        name,
        false,
        { s3: { bucket: name, endpoint, region: s3.region, cloudCredentialName: id } },
        global,
      );
      assert.equal((await patchRke(sim, name, { etcdSnapshotCreate: { generation: 1 } })).status, 200);
    }
    for (const [name, , , status, message] of cases) {
      const snapshot = (await snapshotsOf(sim, name, 2)).find(
        (x) => x.metadata.annotations['etcdsnapshot.rke.io/storage'] === 's3',
      );
      assert.equal(snapshot.snapshotFile.status, status, `${name}: ${snapshot.snapshotFile.message}`);
      if (message) assert.equal(snapshot.snapshotFile.message, message, name);
      assert.equal((await s3.objects(name)).length, status === 'successful' ? 1 : 0, name);
    }
  });
});
