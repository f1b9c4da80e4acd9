/**
 * One backend, one sync cycle at a time: a cycle that outlasts its Redis lock's TTL (10 s here:
 * the simulator holds its node list for 12 s) keeps the lock, so the cycles scheduled every
 * 300 ms meanwhile do not start a second cycle of the same backend beside it. Read from the
 * simulator's call log: the cycles' list calls alternate, nodes then pools, never two node lists
 * in a row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const DELAY_MS = 12_000;

describe('status sync lock: a cycle longer than the lock TTL (real worker, simulator, Redis)', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    // The Rancher timeout must outlast the held list, so the slow cycle completes.
    paddock = await startPaddock({ env: { PADDOCK_RANCHER_TIMEOUT_MS: '30000' } });
    assert.equal((await paddock.registerBackend('locked', sim)).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
  });

  it('is not joined by a second cycle of the same backend', async () => {
    await sim.clearCalls();
    await sim.faults.add({ method: 'GET', path: '^/v3/nodes$', delayMs: DELAY_MS, times: 1 });
    const held = Date.now();
    // Until the held list is logged (calls are logged as they finish) and cycles after it ran.
    const calls = await waitFor(
      'sync cycles after the held node list',
      async () => {
        const all = await sim.calls();
        const lists = all.filter((c) => c.method === 'GET' && /^\/v3\/node(s|pools)$/.test(c.path));
        const late = lists.filter((c) => c.path === '/v3/nodes' && Date.parse(c.at) > held + DELAY_MS);
        return late.length >= 2 && lists;
      },
      DELAY_MS + 40_000,
    );
    const order = calls
      .slice()
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
      .map((c) => (c.path === '/v3/nodes' ? 'nodes' : 'pools'));
    const first = order.indexOf('nodes');
    for (let i = first + 1; i < order.length; i++) {
      assert.notEqual(
        order[i],
        order[i - 1],
        `list calls in arrival order overlap at ${i}: ${order.slice(Math.max(0, i - 3), i + 3).join(', ')}`,
      );
    }
  });
});
