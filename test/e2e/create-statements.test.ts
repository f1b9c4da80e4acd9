/**
 * How many SQL statements the API sends for one create (`POST /v1/projects/{p}/clusters` → 202),
 * counted by wrapping the pg driver in this process (the API runs in-process, no worker), after a
 * warm-up create. The count includes BEGIN/COMMIT and the audit row written after the answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

/**
 * An upper bound to catch a regression, not the target: the figure is printed. 14 until creates
 * learned the project's maximum cluster lifetime, which is read before placement (one statement).
 */
const MAX_STATEMENTS_PER_CREATE = 15;

describe('statements per create', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  const seen: string[] = [];
  let counting = false;
  const original = Client.prototype.query;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.registerBackend('count-sim', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'count' })).status, 201);
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text;
      if (counting && this !== paddock.db) seen.push((text ?? '?').replace(/\s+/g, ' ').trim());
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
  });

  after(async () => {
    Client.prototype.query = original;
    await paddock?.close();
    await sim?.close();
  });

  /** Waits until the relay has dispatched every outbox row and the audit log has `events` rows. */
  const settled = (events: number) =>
    waitFor('the relay and the audit log to catch up', async () => {
      const { rows } = await paddock.db.query(
        `SELECT (SELECT count(*) FROM outbox WHERE dispatched_at IS NULL)::int AS pending,
                (SELECT count(*) FROM audit_events WHERE action = 'createCluster')::int AS audited`,
      );
      return rows[0].pending === 0 && rows[0].audited >= events;
    });

  it(`one create sends at most ${MAX_STATEMENTS_PER_CREATE} statements`, async () => {
    assert.equal(
      (await paddock.request('POST', '/v1/projects/count/clusters', clusterBody('warm'))).status,
      202,
    );
    await settled(1);
    counting = true;
    const created = await paddock.request('POST', '/v1/projects/count/clusters', clusterBody('counted'));
    // The relay's pass and the audit row follow the answer.
    await settled(2);
    counting = false;
    assert.equal(created.status, 202, JSON.stringify(created.body));
    console.log(`# statements per create: ${seen.length}`);
    // With SHOW_SQL set, each statement's beginning too (to see where a change added one).
    if (process.env.SHOW_SQL) for (const text of seen) console.log(`#   ${text.slice(0, 110)}`);
    assert.ok(seen.length <= MAX_STATEMENTS_PER_CREATE, `${seen.length} statements:\n${seen.join('\n')}`);
  });
});
