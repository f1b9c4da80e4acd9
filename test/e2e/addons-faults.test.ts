/**
 * Faults at the addon steps that call the backend, of every kind — a 5xx (retried), a timeout
 * longer than the client's (retried, the late request harmless) and drop-after-apply (the change
 * made, the answer lost) — on an rke1 backend (a simulated Rancher
 * 2.11: Fleet Bundles) and an rke2 backend (2.12: HelmOps), side by side: at label-addon and
 * apply-addon of an opt-in, at unlabel-addon and apply-addon of an opt-out, and at the status
 * sync's write of the Fleet object (its POST for a new addon, its PUT for a new version, its
 * DELETE for a deleted addon). One fault at a time; after each, the operation succeeded (or the
 * addon reached its state), the backend holds exactly the Fleet objects the catalog calls for,
 * each created once, and the cluster's deployments say what Paddock says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingSystem, count, createOn } from '../support/reliability';
import type { FaultSpec } from '../support/simulator';

const PROJECT = 'addfaults';
/** The client's per-attempt timeout here (PADDOCK_RANCHER_TIMEOUT_MS). */
const CLIENT_TIMEOUT_MS = 2_000;
const FAULTS: Record<string, Omit<FaultSpec, 'method' | 'path'>> = {
  '5xx': { status: 503, times: 2 },
  timeout: { delayMs: CLIENT_TIMEOUT_MS + 500, times: 1 },
  drop: { dropResponse: true, times: 1 },
};
const VERSIONS = { rke1: 'v2.11.3', rke2: 'v2.12.3' } as const;
const FLEET_TYPE = { rke1: 'fleet\\.cattle\\.io\\.bundles', rke2: 'fleet\\.cattle\\.io\\.helmops' } as const;
const CLUSTER_PATH = {
  rke1: '^/v3/clusters/[^/]+$',
  rke2: '^/v1/provisioning\\.cattle\\.io\\.clusters/fleet-default/[^/]+$',
} as const;

describe("reliability: faults at every addon step that calls the backend and at the sync's writes, rke1 (Bundles) and rke2 (HelmOps)", () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  const clusterOf = new Map<CaseBackend, string>();
  let repo: string;

  const fleetObject = (b: CaseBackend, addon: string) =>
    `^/v1/${FLEET_TYPE[b.kind]}/fleet-default/paddock-${addon}$`;
  const fleetCollection = (b: CaseBackend) => `^/v1/${FLEET_TYPE[b.kind]}/fleet-default$`;

  async function succeeded(id: string, what: string) {
    const op = await paddock.waitForOperation(id, 120_000);
    assert.equal(op.state, 'succeeded', `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
  }

  /** The Paddock Fleet objects on the backend, by name, as many times as it holds them. */
  async function fleetObjects(b: CaseBackend): Promise<string[]> {
    const list = await b.sim.rancher('GET', `/v1/${FLEET_TYPE[b.kind].replace(/\\/g, '')}/fleet-default`);
    return (list.body.data as Array<{ metadata: { name: string } }>)
      .map((o) => o.metadata.name)
      .filter((n) => n.startsWith('paddock-'))
      .sort();
  }
  async function deployments(b: CaseBackend, addon: string): Promise<number> {
    const selector = encodeURIComponent(`fleet.cattle.io/bundle-name=paddock-${addon}`);
    return (await b.sim.rancher('GET', `/v1/fleet.cattle.io.bundledeployments?labelSelector=${selector}`))
      .body.data.length;
  }
  const stateOn = async (cluster: string, addon: string) =>
    (
      (await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${cluster}/addons`)).body
        .items as Array<{
        addon: string;
        state: string;
        version: string | null;
      }>
    ).find((a) => a.addon === addon);

  /** The fault, armed; returns a check that it was met. */
  async function arm(b: CaseBackend, kind: string, method: string, path: string) {
    const fault = await b.sim.faults.add({ method, path, ...FAULTS[kind] });
    return async (what: string) => {
      const met = (await b.sim.faults.list()).find((f) => f.id === fault.id);
      // A fault that met nothing tested nothing: every step here makes its call.
      assert.ok(!met || met.hits > 0, `${what}: the fault was never met`);
      await b.sim.faults.clear();
    };
  }

  before(async () => {
    paddock = await startPaddock({
      env: { PADDOCK_RANCHER_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS), PADDOCK_OPERATION_DEADLINE_MS: '120000' },
    });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    for (const kind of ['rke1', 'rke2'] as const) {
      const b = await addBackend(paddock, `af-${kind}`, { version: VERSIONS[kind] });
      backends.push(b);
      const name = `af-${kind}`;
      await succeeded((await createOn(paddock, PROJECT, b, name)).operation.id, `create ${name}`);
      clusterOf.set(b, name);
    }
    repo = `${backends[0].sim.url}/charts`;
    const svc = await paddock.request('POST', '/v1/admin/addons', {
      name: 'svc',
      chart: { repo, name: 'service-operator', version: '1.0.0' },
      namespace: 'svc',
    });
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    for (const b of backends)
      await waitFor(
        `svc on ${b.name}`,
        async () => (await fleetObjects(b)).includes('paddock-svc') || undefined,
      );
  });

  after(() => closeCheckingSystem(paddock, backends, { label: 'addons-faults' }));

  /** Opt-in and opt-out of svc on the backend's cluster, each under one fault of `kind`, at each step. */
  async function optInOutUnderFaults(b: CaseBackend, kind: string) {
    const cluster = clusterOf.get(b)!;
    const path = `/v1/projects/${PROJECT}/clusters/${cluster}/addons/svc`;
    const install = [
      ['label-addon', 'PUT', CLUSTER_PATH[b.kind]],
      ['apply-addon', 'PUT', fleetObject(b, 'svc')],
    ];
    const uninstall = [
      ['unlabel-addon', 'PUT', CLUSTER_PATH[b.kind]],
      ['apply-addon', 'PUT', fleetObject(b, 'svc')],
    ];
    for (let i = 0; i < install.length; i++) {
      const what = `${b.kind} ${kind} at ${install[i][0]}`;
      const met = await arm(b, kind, install[i][1], install[i][2]);
      // Values of its own each time: the Fleet object must change, so apply-addon writes it.
      const put = await paddock.request('PUT', path, { values: { attempt: `${kind}-${i}` } });
      assert.equal(put.status, 202, `${what}: ${JSON.stringify(put.body)}`);
      await succeeded(put.body.id, what);
      await met(what);
      assert.equal((await stateOn(cluster, 'svc'))?.state, 'installed', what);
      assert.equal(await deployments(b, 'svc'), 1, `${what}: one deployment`);

      const out = `${b.kind} ${kind} at ${uninstall[i][0]}`;
      const metOut = await arm(b, kind, uninstall[i][1], uninstall[i][2]);
      const del = await paddock.request('DELETE', path);
      assert.equal(del.status, 202, `${out}: ${JSON.stringify(del.body)}`);
      await succeeded(del.body.id, out);
      await metOut(out);
      assert.equal(await stateOn(cluster, 'svc'), undefined, out);
      await waitFor(
        `${out}: no deployment left`,
        async () => (await deployments(b, 'svc')) === 0 || undefined,
      );
      assert.deepEqual(await fleetObjects(b), ['paddock-svc'], `${out}: one Fleet object`);
    }
  }

  /** An addon of its own on every backend, created, moved to a new version and deleted, each sync write under one fault. */
  async function lifecycleUnderFaults(kind: string) {
    const addon = `life-${kind}`;
    const arms = async (method: string, path: (b: CaseBackend) => string) =>
      Promise.all(backends.map((b) => arm(b, kind, method, path(b))));
    const metAll = async (checks: Array<(what: string) => Promise<void>>, what: string) => {
      for (const [i, check] of checks.entries()) await check(`${backends[i].kind} ${kind} at ${what}`);
    };
    const rolledOut = (version: string) =>
      waitFor(
        `${addon} ${version} completed`,
        async () => {
          const r = (await paddock.request('GET', `/v1/admin/addons/${addon}/rollout`)).body;
          return r.version === version && r.state === 'completed' ? r : undefined;
        },
        60_000,
      );
    for (const b of backends) await b.sim.clearCalls();

    const posts = await arms('POST', fleetCollection);
    const created = await paddock.request('POST', '/v1/admin/addons', {
      name: addon,
      chart: { repo, name: 'cinder-csi', version: '2.31.0' },
      namespace: addon,
      required: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const first = await rolledOut('2.31.0');
    assert.equal(first.ready, backends.length);
    await metAll(posts, 'the sync POST');
    for (const b of backends) {
      // Created once: a retry after a lost or late answer reads the object instead of making another.
      const made = count(await b.sim.calls(), 'POST', new RegExp(fleetCollection(b)), 201);
      assert.equal(made, 1, `${b.kind} ${kind}: one POST of ${addon} took`);
    }

    const puts = await arms('PUT', (b) => fleetObject(b, addon));
    const patched = await paddock.request('PATCH', `/v1/admin/addons/${addon}`, {
      chart: { repo, name: 'cinder-csi', version: '2.31.2' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    await rolledOut('2.31.2');
    await metAll(puts, 'the sync PUT');
    for (const b of backends) {
      assert.equal((await stateOn(clusterOf.get(b)!, addon))?.version, '2.31.2');
      assert.deepEqual(await fleetObjects(b), [`paddock-${addon}`, 'paddock-svc'].sort());
    }

    const deletes = await arms('DELETE', (b) => fleetObject(b, addon));
    const deleted = await paddock.request('DELETE', `/v1/admin/addons/${addon}`);
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    await waitFor(
      `${addon} gone from the catalog`,
      async () => (await paddock.request('GET', `/v1/admin/addons/${addon}`)).status === 404 || undefined,
      60_000,
    );
    await metAll(deletes, 'the sync DELETE');
    for (const b of backends) {
      assert.deepEqual(await fleetObjects(b), ['paddock-svc'], `${b.kind} ${kind}: none left of ${addon}`);
      await waitFor(
        `${b.kind}: ${addon} uninstalled`,
        async () => (await deployments(b, addon)) === 0 || undefined,
      );
    }
  }

  for (const kind of Object.keys(FAULTS)) {
    it(`${kind} at label-addon, apply-addon, unlabel-addon and the opt-out's apply-addon: retried, nothing twice`, async () => {
      await Promise.all(backends.map((b) => optInOutUnderFaults(b, kind)));
    });
    it(`${kind} at the sync's POST, PUT and DELETE of the Fleet object: retried, one object, none left`, () =>
      lifecycleUnderFaults(kind));
  }
});
