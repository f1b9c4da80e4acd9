/**
 * What one backup and one restore cost, on both backend kinds: the Rancher calls (the
 * simulator's call log) and the S3 requests (every request the embedded S3 store received),
 * counted from `POST …/backups` (or `…/restore`) to the operation's success, asserted and printed
 * for the README's table. The status sync and the health probe keep running meanwhile: their
 * calls are told apart from the operation's by whether they name the cluster (the operation's
 * calls all do; the sync's paged lists and the probe's reads never do) and reported separately.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CallRecord } from '../../sim/faults';
import { clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestS3, TestS3, type S3Request } from '../support/s3';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PROJECT = 'bkcalls';

interface Measured {
  operation: CallRecord[];
  background: CallRecord[];
  s3: S3Request[];
}

const shape = (c: { method: string; path: string }) => `${c.method} ${c.path}`;

/** `GET /v3/etcdbackups/<id>` × 3, … for the printout: ids are replaced by their role. */
function summary(calls: Array<{ method: string; path: string }>, names: Record<string, string>): string {
  const counts = new Map<string, number>();
  for (const call of calls) {
    let key = shape(call);
    for (const [value, role] of Object.entries(names)) key = key.split(value).join(role);
    key = key
      .replace(/(\/(?:on-demand|etcd-snapshot)-)[^/]+$/, '$1…')
      .replace(/_\d{4}-[^/]+\.zip$/, '_….zip');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ') || '(none)';
}

describe('etcd backup and restore: Rancher and S3 calls per operation, both kinds', () => {
  let s3: TestS3;
  let rke1: TestSimulator;
  let rke2: TestSimulator;
  let paddock: TestPaddock;
  const table: string[] = [];

  const clusterPath = (name: string) => `/v1/projects/${PROJECT}/clusters/${name}`;
  const rancherIdOf = async (name: string): Promise<string> =>
    (await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = $1`, [name])).rows[0].rancher_id;

  /**
   * Runs one operation from a clean call log and store log and splits what the backend saw:
   * calls naming the cluster (in the path, or in the query as a label selector) are the
   * operation's; the rest are the background sync and probe of the same window.
   */
  async function measure(
    sim: TestSimulator,
    clusterKeys: string[],
    start: () => Promise<{ status: number; body: any }>,
  ): Promise<Measured> {
    await sim.clearCalls();
    s3.clearRequests();
    const started = await start();
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const op = await paddock.waitForOperation(started.body.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    const calls = await sim.calls();
    const names = (c: CallRecord) =>
      clusterKeys.some((k) => c.path.includes(k) || decodeURIComponent(c.query ?? '').includes(k));
    const operation = calls.filter(names);
    return {
      operation,
      background: calls.filter((c) => !names(c)),
      s3: s3.requests(),
    };
  }

  function record(kind: string, what: string, m: Measured, names: Record<string, string>) {
    const line =
      `${kind} ${what}: ${m.operation.length} Rancher calls [${summary(m.operation, names)}]; ` +
      `${m.s3.length} S3 requests [${summary(m.s3, names)}]; ` +
      `background meanwhile: ${m.background.length} Rancher calls [${summary(m.background, names)}]`;
    table.push(line);
    console.log(`[backups-calls] ${line}`);
  }

  before(async () => {
    s3 = await startTestS3();
    // A simulated hour of 10 s and a week between recurring backups: none lands while measuring.
    const timings = { backupHourMs: 10_000, etcdBackupMs: 50 };
    rke1 = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }], timings });
    rke2 = await startTestSimulator({ version: 'v2.12.3', timings });
    paddock = await startPaddock({
      env: { ...s3.env, PADDOCK_BACKUP_INTERVAL_HOURS: '168', PADDOCK_BACKUP_RETENTION: '3' },
    });
    assert.equal((await paddock.registerBackend('calls-rke1', rke1, { region: 'r1' })).status, 201);
    assert.equal((await paddock.registerBackend('calls-rke2', rke2, { region: 'r2' })).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    for (const [name, region] of [
      ['one', 'r1'],
      ['two', 'r2'],
    ]) {
      const created = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody(name, { region }),
      );
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
    }
  });

  after(async () => {
    if (table.length) console.log(`[backups-calls] summary\n${table.join('\n')}`);
    await paddock?.close();
    await rke1?.close();
    await rke2?.close();
    await s3?.close();
  });

  it('rke1: a backup is one action and polls of the backup; its S3 traffic is one upload', async () => {
    const id = await rancherIdOf('one');
    const bucket = (await paddock.request('GET', `${clusterPath('one')}/backups`)).body.bucket as string;
    const m = await measure(rke1, [id], () => paddock.request('POST', `${clusterPath('one')}/backups`));
    record('rke1', 'backup', m, { [id]: '<cluster>', [bucket]: '<bucket>' });
    const [action, ...polls] = m.operation;
    assert.equal(shape(action), `POST /v3/clusters/${id}`);
    assert.equal(action.query, 'action=backupEtcd');
    assert.ok(polls.length >= 1, 'the backup is read until active');
    for (const poll of polls) assert.match(shape(poll), new RegExp(`^GET /v3/etcdbackups/${id}:${id}-ms-`));
    assert.deepEqual(
      m.s3.map((r) => r.method),
      ['PUT'],
      'rke-tools uploads the zip, nothing else',
    );
    assert.match(m.s3[0].path, new RegExp(`^/${bucket}/${id}-ms-[a-z0-9]{5}_.*\\.zip$`));
  });

  it('rke1: a restore is one action and polls of the cluster; its S3 traffic is one download', async () => {
    const id = await rancherIdOf('one');
    const bucket = (await paddock.request('GET', `${clusterPath('one')}/backups`)).body.bucket as string;
    const [backup] = (await paddock.request('GET', `${clusterPath('one')}/backups`)).body.items;
    const m = await measure(rke1, [id], () =>
      paddock.request('POST', `${clusterPath('one')}/backups/${backup.name}/restore`, {}),
    );
    record('rke1', 'restore', m, { [id]: '<cluster>', [bucket]: '<bucket>', [backup.name]: '<backup>' });
    const [action, ...polls] = m.operation;
    assert.equal(shape(action), `POST /v3/clusters/${id}`);
    assert.equal(action.query, 'action=restoreFromEtcdBackup');
    assert.ok(polls.length >= 1, 'the cluster is read until active again');
    for (const poll of polls) assert.equal(shape(poll), `GET /v3/clusters/${id}`);
    assert.deepEqual(
      m.s3.map((r) => r.method),
      ['GET'],
      'rke-tools downloads the zip, nothing else',
    );
    assert.match(m.s3[0].path, new RegExp(`^/${bucket}/${backup.name}_.*\\.zip$`));
  });

  it('rke2: a backup is a read, a generation bump and snapshot lists; its S3 traffic is a bucket check and one upload', async () => {
    const ref = await rancherIdOf('two');
    const name = ref.split('/')[1];
    const bucket = (await paddock.request('GET', `${clusterPath('two')}/backups`)).body.bucket as string;
    const m = await measure(rke2, [name], () => paddock.request('POST', `${clusterPath('two')}/backups`));
    record('rke2', 'backup', m, { [ref]: '<cluster>', [name]: '<cluster>', [bucket]: '<bucket>' });
    const shapes = m.operation.map(shape);
    const cluster = `/v1/provisioning.cattle.io.clusters/${ref}`;
    const list = 'GET /v1/rke.cattle.io.etcdsnapshots/fleet-default';
    assert.equal(shapes.filter((s) => s === `PUT ${cluster}`).length, 1, 'one write: the generation bump');
    assert.ok(shapes.indexOf(list) < shapes.indexOf(`PUT ${cluster}`), 'the snapshots are listed before it');
    assert.ok(
      shapes.lastIndexOf(list) > shapes.indexOf(`PUT ${cluster}`),
      'and after it, until the new one appears',
    );
    assert.deepEqual(
      [...new Set(shapes)].sort(),
      [`GET ${cluster}`, `PUT ${cluster}`, list].sort(),
      'nothing else',
    );
    assert.deepEqual(
      m.s3.map((r) => `${r.method} ${r.path}`),
      [`HEAD /${bucket}/`, `PUT /${bucket}/${m.s3[1]?.path.split('/')[2]}`],
      'k3s checks the bucket, then uploads',
    );
    assert.match(m.s3[1].path, /\/on-demand-/);
  });

  it('rke2: a restore is one write after a read, then polls of the control plane and the cluster; its S3 traffic is one download', async () => {
    const ref = await rancherIdOf('two');
    const name = ref.split('/')[1];
    const bucket = (await paddock.request('GET', `${clusterPath('two')}/backups`)).body.bucket as string;
    const [backup] = (await paddock.request('GET', `${clusterPath('two')}/backups`)).body.items;
    const m = await measure(rke2, [name], () =>
      paddock.request('POST', `${clusterPath('two')}/backups/${backup.name}/restore`, {}),
    );
    record('rke2', 'restore', m, { [ref]: '<cluster>', [name]: '<cluster>', [bucket]: '<bucket>' });
    const shapes = m.operation.map(shape);
    const cluster = `/v1/provisioning.cattle.io.clusters/${ref}`;
    const controlPlane = `GET /v1/rke.cattle.io.rkecontrolplanes/${ref}`;
    assert.equal(shapes.filter((s) => s === `PUT ${cluster}`).length, 1, 'one write: etcdSnapshotRestore');
    assert.equal(shapes[shapes.indexOf(`PUT ${cluster}`) - 1], `GET ${cluster}`, 'the write follows a read');
    assert.ok(shapes.includes(controlPlane), 'the control plane is polled for the restore phase');
    assert.deepEqual(
      [...new Set(shapes)].sort(),
      [`GET ${cluster}`, `PUT ${cluster}`, controlPlane].sort(),
      'nothing else',
    );
    assert.deepEqual(
      m.s3.map((r) => r.method),
      ['GET'],
    );
    assert.ok(m.s3[0].path.startsWith(`/${bucket}/on-demand-`));
  });
});
