/**
 * The cost of mirroring backups at 10,000 clusters with 6 backups each (a 12-hour schedule's
 * retention): one sync cycle's Rancher calls, and its wall time, printed for the record. The
 * backups are listed one call per page of 1,000, never one call per cluster.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INestApplicationContext } from '@nestjs/common';
import { startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { startSyncOnly } from '../support/sync-only';

const CLUSTERS = 10_000;
const BACKUPS_PER_CLUSTER = 6;
const PAGE = 1000;

describe('status sync: backups at 10,000 clusters', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let worker: INestApplicationContext | undefined;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.registerBackend('bscale', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'bscale' })).status, 201);
  });

  after(async () => {
    await worker?.close();
    await paddock?.close();
    await sim?.close();
  });

  it('lists backups one call per page and mirrors every one of them', async () => {
    const seeded = await sim.seed({
      clusters: CLUSTERS,
      poolsPerCluster: 0,
      backupsPerCluster: BACKUPS_PER_CLUSTER,
      labels: { team: 'scale' },
    });
    assert.equal(seeded.backups, CLUSTERS * BACKUPS_PER_CLUSTER);
    const backendId = (await paddock.db.query(`SELECT id FROM backends WHERE name = 'bscale'`)).rows[0].id;
    const projectId = (await paddock.db.query(`SELECT id FROM projects WHERE name = 'bscale'`)).rows[0].id;
    await paddock.db.query(
      `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, state)
       SELECT $1, $2, 'seeded-' || ord, 'pd-seeded-' || ord, r, 'active'
       FROM unnest($3::text[]) WITH ORDINALITY AS v(r, ord)`,
      [projectId, backendId, seeded.clusterIds],
    );

    const syncOnly = await startSyncOnly(paddock.config);
    worker = syncOnly.context;
    const { sync } = syncOnly;
    await sync.syncBackend(backendId); // warm-up: the first cycle inserts every backup row
    await sim.clearCalls();
    const started = process.hrtime.bigint();
    const report = await sync.syncBackend(backendId);
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const calls = await sim.calls();
    assert.ok(report);

    const backupCalls = calls.filter((c) => c.path === '/v3/etcdbackups');
    const pages = Math.ceil((CLUSTERS * BACKUPS_PER_CLUSTER) / PAGE);
    console.log(
      `[backups-sync-scale] one sync cycle at ${CLUSTERS} clusters / ${CLUSTERS * BACKUPS_PER_CLUSTER} backups: ` +
        `${calls.length} Rancher calls of which ${backupCalls.length} for backups, wall ${wallMs.toFixed(0)} ms`,
    );
    assert.equal(backupCalls.length, pages, `one call per page of ${PAGE}: ${pages}`);
    assert.ok(calls.every((c) => c.method === 'GET'));
    const { rows } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM cluster_backups WHERE backend_id = $1`,
      [backendId],
    );
    assert.equal(rows[0].n, CLUSTERS * BACKUPS_PER_CLUSTER, 'every backup mirrored, none dropped');
  });
});
