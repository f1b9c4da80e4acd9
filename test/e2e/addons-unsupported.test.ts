/**
 * Addons on older backends. A simulated Rancher 2.10 (Fleet 0.11: no HelmOps, no Bundle field
 * that downloads a chart) takes an addon as a Bundle embedding the chart Paddock downloaded. A
 * Rancher with its `fleet` feature off serves no Fleet type: an opt-in there is refused with 409
 * ADDONS_UNSUPPORTED_ON_BACKEND and writes nothing, and the rollout shows that backend as
 * `unsupported` rather than pending forever.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('addons on Rancher 2.10 (Bundles embedding the chart) and on a Rancher without Fleet', () => {
  let old: TestSimulator;
  let noFleet: TestSimulator;
  let paddock: TestPaddock;

  before(async () => {
    [old, noFleet] = await Promise.all([
      startTestSimulator({ version: 'v2.10.5', nodeTemplates: [{ name: 'm1.large' }] }),
      startTestSimulator({ version: 'v2.10.5', nodeTemplates: [{ name: 'm1.large' }], fleet: false }),
    ]);
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: '60000' } });
    assert.equal((await paddock.registerBackend('old', old, { region: 'r-old' })).status, 201);
    assert.equal((await paddock.registerBackend('nofleet', noFleet, { region: 'r-none' })).status, 201);
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'older' })).status, 201);
    for (const [name, region] of [
      ['c-old', 'r-old'],
      ['c-none', 'r-none'],
    ]) {
      const created = await paddock.request(
        'POST',
        '/v1/projects/older/clusters',
        clusterBody(name, { region }),
      );
      assert.equal(created.status, 202, JSON.stringify(created.body));
      assert.equal((await paddock.waitForOperation(created.body.operation.id, 60_000)).state, 'succeeded');
    }
    const created = await paddock.request('POST', '/v1/admin/addons', {
      name: 'svc',
      chart: { repo: `${old.url}/charts`, name: 'service-operator', version: '1.1.0' },
      namespace: 'svc',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });

  after(async () => {
    await paddock?.close();
    await Promise.all([old?.close(), noFleet?.close()]);
  });

  it('installs by opt-in on 2.10 through a Bundle whose resources hold the chart', async () => {
    const put = await paddock.request('PUT', '/v1/projects/older/clusters/c-old/addons/svc', {});
    assert.equal(put.status, 202, JSON.stringify(put.body));
    const op = await paddock.waitForOperation(put.body.id, 60_000);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    const row = await waitFor('svc installed on c-old', async () => {
      const items = (await paddock.request('GET', '/v1/projects/older/clusters/c-old/addons')).body.items;
      const svc = items?.find((a: { addon: string }) => a.addon === 'svc');
      return svc?.state === 'installed' ? svc : undefined;
    });
    assert.equal(row.version, '1.1.0');
    const bundle = (await old.rancher('GET', '/v1/fleet.cattle.io.bundles/fleet-default/paddock-svc')).body;
    assert.equal(bundle.spec.helmOpOptions, undefined);
    assert.equal(bundle.spec.helm.version, '1.1.0');
    assert.ok(
      bundle.spec.resources.some((r: { name: string }) => r.name.endsWith('/service-operator/Chart.yaml')),
    );
  });

  it('refuses an opt-in where Rancher has no Fleet with 409 ADDONS_UNSUPPORTED_ON_BACKEND and reports that backend unsupported', async () => {
    await noFleet.clearCalls();
    const put = await paddock.request('PUT', '/v1/projects/older/clusters/c-none/addons/svc', {});
    assert.equal(put.status, 409, JSON.stringify(put.body));
    assert.equal(put.body.code, 'ADDONS_UNSUPPORTED_ON_BACKEND');
    const { rows } = await paddock.db.query(
      `SELECT 1 FROM cluster_addons ca JOIN clusters c ON c.id = ca.cluster_id WHERE c.name = 'c-none'`,
    );
    assert.equal(rows.length, 0);
    const rollout = await waitFor('the backend without Fleet reported unsupported', async () => {
      const r = (await paddock.request('GET', '/v1/admin/addons/svc/rollout')).body;
      return r.perBackend?.find((b: { backend: string }) => b.backend === 'nofleet')?.state === 'unsupported'
        ? r
        : undefined;
    });
    assert.equal(rollout.perBackend.find((b: { backend: string }) => b.backend === 'old').state, 'applied');
    // Nothing was written to that backend's Fleet.
    const writes = (await noFleet.calls()).filter(
      (c) => c.method !== 'GET' && c.path.includes('fleet.cattle.io'),
    );
    assert.deepEqual(writes, []);
  });
});
