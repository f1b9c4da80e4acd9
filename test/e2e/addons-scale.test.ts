/**
 * Rancher calls per addon rollout and per status cycle do not grow with the number of clusters:
 * the same rollout at 5 and at 50 clusters (simulated 2.12 backend, HelmOps; seeded active
 * clusters carrying Paddock's managed label, Paddock rows pointing at them), with the status
 * sync run by hand (no worker), counted from the simulator's call log. `ADDON_SCALE_SIZES`
 * (e.g. `10,1000`) measures other sizes; the counts are printed for the README.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { startSyncOnly } from '../support/sync-only';

const SIZES = (process.env.ADDON_SCALE_SIZES ?? '5,50').split(',').map(Number);
const FLEET = /fleet\.cattle\.io|\/v1\/schemas\/fleet/;

interface Measured {
  clusters: number;
  rolloutCalls: string[];
  cycles: number;
  steadyCycleCalls: string[];
  rolloutMs: number;
}

async function measure(clusters: number): Promise<Measured> {
  let sim: TestSimulator | undefined;
  let paddock: TestPaddock | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    sim = await startTestSimulator({ version: 'v2.12.3', nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none' });
    assert.equal((await paddock.registerBackend('scale', sim)).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'scale' })).status, 201);
    const seeded = await sim.seed({ clusters, labels: { 'paddock.dev/managed': 'true' } });
    const rancherIds = (seeded as unknown as { provisioningClusterIds: string[] }).provisioningClusterIds;
    const backendId = (await paddock.db.query(`SELECT id FROM backends`)).rows[0].id;
    const projectId = (await paddock.db.query(`SELECT id FROM projects`)).rows[0].id;
    await paddock.db.query(
      `INSERT INTO clusters (project_id, backend_id, name, rancher_name, rancher_id, state)
       SELECT $1, $2, 's-' || ord, split_part(r, '/', 2), r, 'active' FROM unnest($3::text[]) WITH ORDINALITY AS v(r, ord)`,
      [projectId, backendId, rancherIds],
    );
    const syncOnly = await startSyncOnly(paddock.config);
    close = () => syncOnly.context.close();
    const cycle = () => syncOnly.sync.syncBackend(backendId);
    const repo = `${sim.url}/charts`;
    const created = await paddock.request('POST', '/v1/admin/addons', {
      name: 'ingress',
      chart: { repo, name: 'ingress-nginx', version: '4.11.3' },
      namespace: 'ingress',
      required: true,
      rollout: { maxUnavailable: '100%' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const settle = async (version: string) => {
      for (let i = 0; i < 200; i++) {
        await cycle();
        const r = (await paddock!.request('GET', '/v1/admin/addons/ingress/rollout')).body;
        if (r.state === 'completed' && r.version === version && r.ready === clusters) return i + 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.fail(`rollout of ${version} did not complete`);
    };
    await settle('4.11.3');

    await sim.clearCalls();
    const started = Date.now();
    const patched = await paddock.request('PATCH', '/v1/admin/addons/ingress', {
      chart: { repo, name: 'ingress-nginx', version: '4.12.0' },
    });
    assert.equal(patched.status, 200);
    const cycles = await settle('4.12.0');
    const rolloutMs = Date.now() - started;
    const rolloutCalls = (await sim.calls())
      .filter((c) => FLEET.test(c.path))
      .map((c) => `${c.method} ${c.path}`);

    await sim.clearCalls();
    await cycle();
    const steadyCycleCalls = (await sim.calls())
      .filter((c) => FLEET.test(c.path))
      .map((c) => `${c.method} ${c.path}`);
    return { clusters, rolloutCalls, cycles, steadyCycleCalls, rolloutMs };
  } finally {
    await close?.();
    await paddock?.close();
    await sim?.close();
  }
}

describe('addon rollout: Rancher calls do not grow with clusters (2.12 simulator, HelmOps)', () => {
  const results: Measured[] = [];
  after(() => {
    for (const r of results)
      console.log(
        `[addons-scale] ${r.clusters} clusters: rollout ${r.rolloutCalls.length} Fleet calls over ${r.cycles} cycles ` +
          `(writes: ${r.rolloutCalls.filter((c) => !c.startsWith('GET')).join(', ')}), ` +
          `steady cycle ${r.steadyCycleCalls.length} (${r.steadyCycleCalls.join(', ')}), rollout ${r.rolloutMs} ms`,
      );
  });

  it(`measures ${SIZES.join(' and ')} clusters: one write per rollout, one read per settled cycle, the same at each size`, async () => {
    for (const size of SIZES) results.push(await measure(size));
    for (const r of results) {
      assert.deepEqual(
        r.rolloutCalls.filter((c) => !c.startsWith('GET')),
        ['PUT /v1/fleet.cattle.io.helmops/fleet-default/paddock-ingress'],
      );
      assert.deepEqual(r.steadyCycleCalls, ['GET /v1/fleet.cattle.io.helmops/fleet-default']);
      // Per cycle while rolling: the summary list, the object read before the write (once), and at
      // most one page of bundle deployments per 1,000 clusters.
      const perCycle = Math.ceil(r.clusters / 1000) + 1;
      assert.ok(
        r.rolloutCalls.length <= r.cycles * perCycle + 1,
        `${r.rolloutCalls.length} calls over ${r.cycles} cycles at ${r.clusters} clusters`,
      );
    }
  });
});
