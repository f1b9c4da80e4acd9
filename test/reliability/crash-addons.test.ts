/**
 * SIGKILL of the workers while addons move, on an rke1 backend (a simulated Rancher 2.11: Fleet
 * Bundles) and an rke2 backend (2.12: HelmOps) at once: while a new version rolls out across the
 * clusters one at a time, while owners opt clusters in and out of an optional addon and while a
 * new addon is written to the backends; then while a deleted addon's Fleet objects are removed.
 * Every time the rollout completes, every operation succeeds, each cluster's addon state in
 * Paddock and its bundle deployments in Fleet are the ones its addons call for, each backend holds
 * exactly one Fleet object per addon (none left of the deleted one), and THE CHECKS hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingSystem, createOn, workerPool } from '../support/reliability';

const PROJECT = 'addcrash';
const CLUSTERS = 3;
const VERSIONS = { rke1: 'v2.11.3', rke2: 'v2.12.3' } as const;
const FLEET_TYPE = { rke1: 'fleet.cattle.io.bundles', rke2: 'fleet.cattle.io.helmops' } as const;

describe('reliability: worker SIGKILL during addon rollouts, opt-ins, opt-outs and deletes', () => {
  let paddock: TestPaddock;
  let kill: () => Promise<void>;
  const backends: CaseBackend[] = [];
  const clusters = new Map<CaseBackend, string[]>();
  let repo: string;

  const addonBody = (name: string, chart: string, version: string, extra: Record<string, unknown> = {}) => ({
    name,
    chart: { repo, name: chart, version },
    namespace: name,
    ...extra,
  });
  const rollout = async (addon: string) =>
    (await paddock.request('GET', `/v1/admin/addons/${addon}/rollout`)).body;
  const clusterAddons = async (cluster: string) =>
    (await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${cluster}/addons`)).body.items as Array<{
      addon: string;
      state: string;
      version: string | null;
    }>;
  const optIn = async (cluster: string, addon: string, method: 'PUT' | 'DELETE') => {
    const res = await paddock.request(
      method,
      `/v1/projects/${PROJECT}/clusters/${cluster}/addons/${addon}`,
      method === 'PUT' ? {} : undefined,
    );
    assert.equal(res.status, 202, `${method} ${addon} on ${cluster}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  async function succeeded(ids: string[], what: string) {
    for (const id of ids) {
      const op = await paddock.waitForOperation(id, 180_000);
      assert.equal(op.state, 'succeeded', `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    }
  }
  const completed = (addon: string, version: string) =>
    waitFor(
      `${addon} ${version} completed`,
      async () => {
        const r = await rollout(addon);
        return r.version === version && r.state === 'completed' ? r : undefined;
      },
      180_000,
    );

  /** The Paddock addons (`paddock-*`) the backend's Fleet holds, by name, as many times as it holds them. */
  async function fleetObjects(b: CaseBackend): Promise<string[]> {
    const list = await b.sim.rancher('GET', `/v1/${FLEET_TYPE[b.kind]}/fleet-default`);
    assert.equal(list.status, 200);
    return (list.body.data as Array<{ metadata: { name: string } }>)
      .map((o) => o.metadata.name)
      .filter((n) => n.startsWith('paddock-'))
      .sort();
  }

  /** The clusters (Fleet cluster names) with a bundle deployment of the addon on the backend. */
  async function deployedOn(b: CaseBackend, addon: string): Promise<number> {
    const selector = encodeURIComponent(`fleet.cattle.io/bundle-name=paddock-${addon}`);
    const list = await b.sim.rancher(
      'GET',
      `/v1/fleet.cattle.io.bundledeployments?labelSelector=${selector}`,
    );
    assert.equal(list.status, 200);
    return list.body.data.length;
  }

  before(async () => {
    paddock = await startPaddock({
      workers: 'child',
      // An upper bound only: the kills' restarts must not race the machine's speed to a deadline.
      env: { PADDOCK_OPERATION_DEADLINE_MS: '300000' },
    });
    kill = workerPool(paddock).killOldest;
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    for (const kind of ['rke1', 'rke2'] as const) {
      // Slower than the fast timings: with one cluster at a time, the rollout is a window to kill in.
      const b = await addBackend(paddock, `ac-${kind}`, {
        version: VERSIONS[kind],
        timings: { fleetApplyMs: 600, fleetReadyMs: 400 },
      });
      backends.push(b);
      const ops = [];
      const names = Array.from({ length: CLUSTERS }, (_, i) => `ac-${kind}-${i}`);
      for (const name of names) ops.push((await createOn(paddock, PROJECT, b, name)).operation.id);
      await succeeded(ops, `create on ${kind}`);
      clusters.set(b, names);
    }
    repo = `${backends[0].sim.url}/charts`;
  });

  after(() => closeCheckingSystem(paddock, backends, { label: 'crash-addons' }));

  it('killed during a rollout, opt-ins, opt-outs and a new addon: everything lands once', async () => {
    const ingress = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('ingress', 'ingress-nginx', '4.11.3', { required: true, rollout: { maxUnavailable: '1' } }),
    );
    assert.equal(ingress.status, 201, JSON.stringify(ingress.body));
    const svc = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('svc', 'service-operator', '1.0.0'),
    );
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    await completed('ingress', '4.11.3');
    // svc on each backend's first cluster before the kills; the kills find it leaving there.
    await succeeded(
      await Promise.all(backends.map((b) => optIn(clusters.get(b)![0], 'svc', 'PUT'))),
      'first opt-in',
    );

    const patched = await paddock.request('PATCH', '/v1/admin/addons/ingress', {
      chart: { repo, name: 'ingress-nginx', version: '4.12.0' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const ops: string[] = [];
    for (const b of backends) {
      const [first, second] = clusters.get(b)!;
      ops.push(await optIn(second, 'svc', 'PUT'), await optIn(first, 'svc', 'DELETE'));
    }
    // The first kill once the rollout is under way (a cluster moved, not all); the second right
    // after a new addon is recorded, while the sync writes it to both backends.
    await waitFor(
      'rollout under way',
      async () => {
        const r = await rollout('ingress');
        return r.version === '4.12.0' && r.ready >= 1 && r.ready < r.total ? true : undefined;
      },
      120_000,
    );
    await kill();
    const csi = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('csi', 'cinder-csi', '2.31.0', { required: true }),
    );
    assert.equal(csi.status, 201, JSON.stringify(csi.body));
    await kill();

    await succeeded(ops, 'opt-in and opt-out under kills');
    await completed('ingress', '4.12.0');
    await completed('csi', '2.31.0');
    for (const b of backends) {
      const [first, second, third] = clusters.get(b)!;
      const want: Record<string, string[]> = {
        [first]: ['csi installed', 'ingress installed 4.12.0'],
        [second]: ['csi installed', 'ingress installed 4.12.0', 'svc installed 1.0.0'],
        [third]: ['csi installed', 'ingress installed 4.12.0'],
      };
      for (const [cluster, expected] of Object.entries(want))
        await waitFor(`${cluster}: ${expected.join(', ')}`, async () => {
          const got = (await clusterAddons(cluster)).map((a) =>
            a.addon === 'csi' ? `csi ${a.state}` : `${a.addon} ${a.state} ${a.version}`,
          );
          return JSON.stringify(got) === JSON.stringify(expected) ? true : undefined;
        });
      assert.deepEqual(await fleetObjects(b), ['paddock-csi', 'paddock-ingress', 'paddock-svc'], b.name);
      assert.equal(await deployedOn(b, 'ingress'), CLUSTERS, `${b.name}: ingress on every cluster`);
      assert.equal(await deployedOn(b, 'csi'), CLUSTERS, `${b.name}: csi on every cluster`);
      await waitFor(`${b.name}: svc deployed on the second cluster only`, async () =>
        (await deployedOn(b, 'svc')) === 1 ? true : undefined,
      );
    }
  });

  it('killed while a deleted addon leaves the backends: its Fleet objects and rows go, once', async () => {
    const res = await paddock.request('DELETE', '/v1/admin/addons/svc');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await kill();
    await kill();
    await waitFor(
      'svc gone from the catalog',
      async () => ((await paddock.request('GET', '/v1/admin/addons/svc')).status === 404 ? true : undefined),
      120_000,
    );
    for (const b of backends) {
      assert.deepEqual(await fleetObjects(b), ['paddock-csi', 'paddock-ingress'], b.name);
      await waitFor(`${b.name}: svc uninstalled`, async () =>
        (await deployedOn(b, 'svc')) === 0 ? true : undefined,
      );
    }
    const rows = await paddock.db.query(
      `SELECT count(*)::int AS n FROM cluster_addons ca JOIN addons a ON a.id = ca.addon_id WHERE a.name = 'svc'`,
    );
    assert.equal(rows.rows[0].n, 0);
  });
});
