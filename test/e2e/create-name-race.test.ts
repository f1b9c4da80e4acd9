/**
 * create-cluster's refused-name branch, made to happen on purpose: the step's first POST times out
 * on the client but lands later, after the retry's look-up found nothing and while the retry's own
 * POST is on its way, so the retry meets our own cluster under the name — rke1 answers 422
 * NotUnique, rke2 409 AlreadyExists — and the step adopts that cluster (its label proves it is
 * Paddock's) instead of failing or making a second one. The simulator holds each POST for a set
 * time (its fault delays), so the order is fixed, not left to the machine's speed:
 *
 *   0 s  POST #1 arrives, held 7 s ──────────────────────────────▶ 7 s: lands, 201
 *   4 s  the client gives up on #1 (PADDOCK_RANCHER_TIMEOUT_MS)
 *   4.25–4.5 s + queue latency: the retry's look-up (nothing yet), POST #2 held 3.5 s
 *                                                      ≥ 7.75 s: lands, refused, answered in time
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { KIND_VERSIONS } from '../support/kinds';
import { startPaddock, TestPaddock } from '../support/paddock';
import { addBackend, CaseBackend, createOn } from '../support/reliability';
import { remoteClusters } from '../support/remote';

const CLIENT_TIMEOUT_MS = 4_000;
/** Past the client's timeout plus the runner's first backoff (≤ 500 ms) by a wide margin. */
const FIRST_POST_HELD_MS = 7_000;
/** Within the client's timeout, and long enough that the first POST has landed when it is handled. */
const RETRY_POST_HELD_MS = 3_500;

const CASES = {
  rke1: { post: '^/v3/clusters$', refusal: { status: 422, code: 'NotUnique' } },
  rke2: {
    post: '^/v1/provisioning\\.cattle\\.io\\.clusters$',
    refusal: { status: 409, code: 'AlreadyExists' },
  },
} as const;

describe(
  'create-cluster: a timed-out POST that lands while the retry POST is in flight',
  { concurrency: true },
  () => {
    let paddock: TestPaddock;
    const backends: CaseBackend[] = [];

    before(async () => {
      paddock = await startPaddock({ env: { PADDOCK_RANCHER_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS) } });
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'race' })).status, 201);
    });

    after(async () => {
      await paddock?.close();
      for (const b of backends) await b.sim.close();
    });

    for (const [kind, c] of Object.entries(CASES)) {
      it(`${kind}: the retry is refused ${c.refusal.status} ${c.refusal.code} and adopts the cluster the first POST made`, async () => {
        const version = KIND_VERSIONS[kind as keyof typeof KIND_VERSIONS];
        const b = await addBackend(paddock, `race-${kind}`, version ? { version } : {});
        backends.push(b);
        await b.sim.faults.add({ method: 'POST', path: c.post, delayMs: FIRST_POST_HELD_MS, times: 1 });
        await b.sim.faults.add({ method: 'POST', path: c.post, delayMs: RETRY_POST_HELD_MS, times: 1 });
        const { cluster, operation } = await createOn(paddock, 'race', b, `race-${kind}`);
        const done = await paddock.waitForOperation(operation.id, 60_000);
        assert.equal(done.state, 'succeeded', JSON.stringify(done.error));

        const pattern = new RegExp(c.post);
        const posts = (await b.sim.calls())
          .filter((call) => call.method === 'POST' && pattern.test(call.path))
          .sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
        assert.deepEqual(
          posts.map((call) => call.status),
          [201, c.refusal.status],
          'the first POST made the cluster, the retry was refused: two POSTs, no third',
        );
        assert.deepEqual(await b.sim.faults.list(), [], 'both POSTs were held as planned');
        const remote = await remoteClusters(b.sim, b.kind);
        assert.equal(remote.length, 1, 'one cluster on the backend');
        const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [
          cluster.id,
        ]);
        assert.equal(
          rows[0].rancher_id,
          remote[0].id,
          'the cluster the first POST made is the one Paddock keeps',
        );
        await assertNoOrphans(paddock, [b.sim]);
      });
    }
  },
);
