/**
 * SIGKILL of a worker at the backup and restore steps, on an rke1 and an rke2 backend (a simulated
 * Rancher 2.12), with the real embedded S3 store: killed right after the backup's 202, during
 * await-backup (the backend taking the snapshot), and during await-restore (the backend
 * restoring). Each time the operation must still succeed, exactly once on the backend (one backup,
 * one restore request), with exactly the backend's snapshots in the cluster's bucket, and nothing
 * stuck or orphaned in Paddock or Rancher.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import {
  addBackend,
  CaseBackend,
  closeCheckingInvariants,
  count,
  createOn,
  workerPool,
} from '../support/reliability';
import { startTestS3, TestS3 } from '../support/s3';

const PROJECT = 'bkcrash';
const RKE2 = 'v2.12.3';

describe('reliability: worker SIGKILL at the backup and restore steps', () => {
  let paddock: TestPaddock;
  let s3: TestS3;
  const backends: CaseBackend[] = [];
  let killOldestWorker: () => Promise<void>;

  before(async () => {
    s3 = await startTestS3();
    paddock = await startPaddock({
      workers: 'child',
      // Long recurring intervals: the only backups here are the ones the cases take.
      env: { ...s3.env, PADDOCK_OPERATION_DEADLINE_MS: '120000', PADDOCK_BACKUP_INTERVAL_HOURS: '168' },
    });
    killOldestWorker = workerPool(paddock).killOldest;
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    try {
      await closeCheckingInvariants(paddock, backends);
    } finally {
      await s3?.close();
    }
  });

  const stepState = async (operationId: string, name: string) =>
    (
      await paddock.db.query(`SELECT state FROM operation_steps WHERE operation_id = $1 AND name = $2`, [
        operationId,
        name,
      ])
    ).rows[0]?.state as string | undefined;
  const reachedOrPast = (id: string, step: string) => async () =>
    ['running', 'succeeded'].includes((await stepState(id, step)) ?? '') || undefined;

  async function succeeded(id: string, what: string) {
    const op = await paddock.waitForOperation(id, 120_000);
    assert.equal(op.state, 'succeeded', `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    return op;
  }

  /** The backend's S3 backups of the cluster: their object keys, as the bucket must hold them. */
  async function backendSnapshots(b: CaseBackend, rancherId: string): Promise<string[]> {
    if (b.kind === 'rke2') {
      const name = rancherId.split('/')[1];
      const selector = encodeURIComponent(`rke.cattle.io/cluster-name=${name}`);
      const page = (await b.sim.rancher('GET', `/v1/rke.cattle.io.etcdsnapshots?labelSelector=${selector}`))
        .body.data as Array<{
        metadata: { annotations: Record<string, string> };
        snapshotFile: { name: string };
      }>;
      return page
        .filter((s) => s.metadata.annotations['etcdsnapshot.rke.io/storage'] === 's3')
        .map((s) => s.snapshotFile.name)
        .sort();
    }
    const page = (await b.sim.rancher('GET', `/v3/etcdbackups?clusterId=${rancherId}&limit=1000`)).body
      .data as Array<{ filename: string }>;
    return page.map((backup) => backup.filename.split('/').pop() ?? '').sort();
  }

  /** How many restores the backend was asked for since the last `clearCalls`. */
  async function restoreRequests(b: CaseBackend, rancherId: string): Promise<number> {
    if (b.kind === 'rke2') {
      const cluster = (await b.sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${rancherId}`)).body;
      return Number(cluster.spec.rkeConfig.etcdSnapshotRestore?.generation ?? 0);
    }
    return count(await b.sim.calls(), 'POST', new RegExp(`^/v3/clusters/${rancherId}$`));
  }

  for (const kind of ['rke1', 'rke2'] as const) {
    it(`${kind}: killed after the backup's 202, during await-backup and during await-restore`, async () => {
      const b = await addBackend(paddock, `bk-${kind}`, {
        // Slow snapshots and restores: each kill point is a window rather than an instant.
        timings: { etcdBackupMs: 2_000, clusterUpdateMs: 3_000 },
        ...(kind === 'rke2' ? { version: RKE2 } : {}),
      });
      backends.push(b);
      const { cluster, operation } = await createOn(paddock, PROJECT, b, `bk-${kind}`);
      await succeeded(operation.id, 'create');
      const path = `/v1/projects/${PROJECT}/clusters/${cluster.name}`;
      const { rows } = await paddock.db.query(
        `SELECT c.rancher_id, s.bucket FROM clusters c JOIN cluster_backup_settings s ON s.cluster_id = c.id
         WHERE c.id = $1`,
        [cluster.id],
      );
      const { rancher_id: rancherId, bucket } = rows[0] as { rancher_id: string; bucket: string };
      const inBucket = async () => (await s3.objects(bucket)).map((o) => o.key).sort();

      for (const point of ['after the 202', 'during await-backup'] as const) {
        const before = (await backendSnapshots(b, rancherId)).length;
        const started = await paddock.request('POST', `${path}/backups`);
        assert.equal(started.status, 202, JSON.stringify(started.body));
        if (point === 'during await-backup')
          await waitFor(`${kind} ${point}`, reachedOrPast(started.body.id, 'await-backup'), 60_000);
        await killOldestWorker();
        await succeeded(started.body.id, `${kind} backup killed ${point}`);
        // One backup on the backend per operation (a kill in these windows repeats no call that
        // takes one), and the bucket holds exactly the backend's snapshots: none lost, none extra.
        const snapshots = await waitFor(`${kind} snapshots settled`, async () => {
          const listed = await backendSnapshots(b, rancherId);
          return JSON.stringify(listed) === JSON.stringify(await inBucket()) ? listed : undefined;
        });
        assert.equal(snapshots.length, before + 1, `${kind} ${point}: one backup, not two`);
      }

      const backups = await waitFor('both backups listed', async () => {
        const items = (await paddock.request('GET', `${path}/backups`)).body.items as Array<{ name: string }>;
        return items.length === 2 ? items : undefined;
      });
      await b.sim.clearCalls();
      const restore = await paddock.request('POST', `${path}/backups/${backups[0].name}/restore`, {});
      assert.equal(restore.status, 202, JSON.stringify(restore.body));
      await waitFor(`${kind} during await-restore`, reachedOrPast(restore.body.id, 'await-restore'), 60_000);
      await killOldestWorker();
      await succeeded(restore.body.id, `${kind} restore killed during await-restore`);
      assert.equal(await restoreRequests(b, rancherId), 1, `${kind}: the restore was requested once`);
      const read = (await paddock.request('GET', path)).body;
      assert.equal(read.state, 'active');
      const running = await paddock.db.query(
        `SELECT count(*)::int AS n FROM operations WHERE cluster_id = $1 AND state IN ('pending', 'running')`,
        [cluster.id],
      );
      assert.equal(running.rows[0].n, 0, 'nothing left running on the cluster');
      assert.deepEqual(
        await backendSnapshots(b, rancherId),
        await inBucket(),
        'no snapshot lost or orphaned',
      );
      await assertNoOrphans(paddock, [b.sim]);
    });
  }
});
