/**
 * A create that waits its turn on the project's quota row longer than the statement timeout (what
 * 300 creates in one project did on a loaded machine in the rke2 fan-out bench, then answered 500
 * INTERNAL): the answer is a retryable 503 DATABASE_BUSY with nothing written, and the same create
 * sent again once the row is free is accepted. The row is held here by another transaction, as a
 * burst of creates committing one by one holds it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { clusterBody, startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('a create queued on its project quota row past the statement timeout', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let holder: Client;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('busy', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'busy' })).status, 201);
    holder = new Client({ connectionString: paddock.env.DATABASE_URL });
    await holder.connect();
  });

  after(async () => {
    await holder?.end();
    await paddock?.close();
    await sim?.close();
  });

  it('answers 503 DATABASE_BUSY with Retry-After, writes nothing, and the retry is accepted', async () => {
    await holder.query('BEGIN');
    await holder.query(
      `SELECT 1 FROM project_quotas q JOIN projects p ON p.id = q.project_id WHERE p.name = 'busy' FOR UPDATE OF q`,
    );
    const refused = await paddock.request('POST', '/v1/projects/busy/clusters', clusterBody('queued'));
    await holder.query('ROLLBACK');
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'DATABASE_BUSY');
    assert.equal(refused.headers.get('retry-after'), '1');
    const { rows } = await paddock.db.query(
      `SELECT (SELECT count(*)::int FROM clusters WHERE name = 'queued') AS clusters,
              (SELECT count(*)::int FROM operations) AS operations,
              (SELECT clusters_reserved FROM project_quotas q JOIN projects p ON p.id = q.project_id WHERE p.name = 'busy') AS reserved`,
    );
    assert.deepEqual(rows[0], { clusters: 0, operations: 0, reserved: 0 }, 'nothing written');

    const accepted = await paddock.request('POST', '/v1/projects/busy/clusters', clusterBody('queued'));
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
  });
});
