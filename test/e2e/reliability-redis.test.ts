/**
 * Redis wiped (FLUSHDB on a database of this file's own) while operations are in flight: the
 * sweeper rebuilds the queue and the sync schedules from Postgres; nothing is lost or duplicated.
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
  sleep,
} from '../support/reliability';

const PROJECT = 'flush';

describe('reliability: Redis flushed mid-operation', () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];

  before(async () => {
    paddock = await startPaddock({ redisDb: 7 });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(() => closeCheckingInvariants(paddock, backends));

  async function expectAllSucceeded(b: CaseBackend, ops: string[]) {
    for (const id of ops) {
      const op = await paddock.waitForOperation(id, 30_000);
      assert.equal(op.state, 'succeeded', `${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    }
    const calls = await b.sim.calls();
    assert.equal(
      count(calls, 'POST', /^\/v3\/clusters$/, 201),
      ops.length,
      'one cluster create per Paddock cluster',
    );
    assert.equal(
      count(calls, 'POST', /^\/v3\/nodepools$/, 201),
      ops.length * 2,
      'one pool create per Paddock pool',
    );
    await assertNoOrphans(paddock, [b.sim]);
  }

  it('flushed right after the 202', async () => {
    const b = await addBackend(paddock, 'r-early');
    backends.push(b);
    const { operation } = await createOn(paddock, PROJECT, b, 'r-early');
    await paddock.redis.flushdb();
    await expectAllSucceeded(b, [operation.id]);
  });

  it('flushed while several operations are in flight', async () => {
    const b = await addBackend(paddock, 'r-mid', {
      timings: { permissionWindowMs: 600, nodeProvisionMs: 1_000 },
    });
    backends.push(b);
    const ops: string[] = [];
    for (let i = 0; i < 4; i++) ops.push((await createOn(paddock, PROJECT, b, `r-mid-${i}`)).operation.id);
    await waitFor('create-cluster done', async () => {
      const { rows } = await paddock.db.query(
        `SELECT 1 FROM operation_steps WHERE operation_id = $1 AND name = 'create-cluster' AND state = 'succeeded'`,
        [ops[0]],
      );
      return rows.length > 0;
    });
    await paddock.redis.flushdb();
    await sleep(700);
    await paddock.redis.flushdb(); // and once more, mid-way through the pools
    await expectAllSucceeded(b, ops);
  });

  it('the sync schedules come back after a flush', async () => {
    const b = await addBackend(paddock, 'r-sync');
    backends.push(b);
    const { operation } = await createOn(paddock, PROJECT, b, 'r-sync');
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    await paddock.redis.flushdb();
    const flushedAt = new Date().toISOString();
    await waitFor(
      'statusUpdatedAt to advance after the flush',
      async () =>
        ((await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/r-sync`)).body.statusUpdatedAt ??
          '') > flushedAt,
      15_000,
    );
  });
});
