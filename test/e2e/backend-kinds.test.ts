/**
 * The cluster lifecycle through Paddock's API on both backend kinds, behind one Paddock: an rke1
 * backend on a simulated Rancher 2.9 and an rke2 backend on a simulated 2.12 (a mixed fleet).
 * Every scenario runs once per kind; `KINDS` says what differs on the wire (which Rancher writes a
 * change makes, where the remote objects live), everything else is the same test. The Rancher
 * writes are counted from the simulators' own call logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { createSteps } from '../support/kinds';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { CallRecord, startTestSimulator, TestSimulator } from '../support/simulator';

type Kind = 'rke1' | 'rke2';

/** The part of a scenario that depends on the backend kind. */
interface KindProfile {
  version: string;
  region: string;
  /** Rancher writes of a create with these pool names, as `METHOD /path` patterns, in order. */
  createWrites(pools: number): RegExp[];
  scaleWrites: RegExp[];
  addPoolWrites: RegExp[];
  removePoolWrites: RegExp[];
  /** Scales a pool behind Paddock's back through the simulator's own API. */
  scaleBehindPaddock(
    sim: TestSimulator,
    clusterRancherId: string,
    poolRancherId: string,
    quantity: number,
  ): Promise<void>;
}

const MC = /^POST \/v1\/rke-machine-config\.cattle\.io\.openstackconfigs$/;
const KINDS: Record<Kind, KindProfile> = {
  rke1: {
    version: 'v2.9.3',
    region: 'r-rke1',
    createWrites: (p) => [
      /^POST \/v3\/clusters$/,
      ...Array.from({ length: p }, () => /^POST \/v3\/nodepools$/),
    ],
    scaleWrites: [/^PUT \/v3\/nodepools\/[^/]+$/],
    addPoolWrites: [/^POST \/v3\/nodepools$/],
    removePoolWrites: [/^DELETE \/v3\/nodepools\/[^/]+$/],
    async scaleBehindPaddock(sim, _cluster, pool, quantity) {
      assert.equal((await sim.rancher('PUT', `/v3/nodepools/${pool}`, { quantity })).status, 200);
    },
  },
  rke2: {
    version: 'v2.12.3',
    region: 'r-rke2',
    createWrites: (p) => [
      ...Array.from({ length: p }, () => MC),
      /^POST \/v1\/provisioning\.cattle\.io\.clusters$/,
    ],
    scaleWrites: [/^PUT \/v1\/provisioning\.cattle\.io\.clusters\/fleet-default\/[^/]+$/],
    addPoolWrites: [MC, /^PUT \/v1\/provisioning\.cattle\.io\.clusters\/fleet-default\/[^/]+$/],
    removePoolWrites: [
      /^PUT \/v1\/provisioning\.cattle\.io\.clusters\/fleet-default\/[^/]+$/,
      /^DELETE \/v1\/rke-machine-config\.cattle\.io\.openstackconfigs\/fleet-default\/[^/]+$/,
    ],
    async scaleBehindPaddock(sim, cluster, pool, quantity) {
      const poolName = pool.split('/').at(-1);
      const current = await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${cluster}`);
      const pools = current.body.spec.rkeConfig.machinePools.map((p: any) =>
        p.name === poolName ? { ...p, quantity } : p,
      );
      const patched = await sim.rancher(
        'PATCH',
        `/v1/provisioning.cattle.io.clusters/${cluster}`,
        { spec: { rkeConfig: { machinePools: pools } } },
        { 'content-type': 'application/merge-patch+json' },
      );
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
    },
  },
};

/**
 * The writes in a call log. A DELETE repeated on the same object counts once: the await steps send
 * the delete again on each look in case it was lost (idempotent, it changes nothing more).
 */
const writesOf = (calls: CallRecord[]) =>
  [
    ...new Set(
      calls
        .filter((c) => c.method !== 'GET')
        .map((c, i) => (c.method === 'DELETE' ? `${c.method} ${c.path}` : `${c.method} ${c.path} #${i}`)),
    ),
  ].map((w) => w.replace(/ #\d+$/, ''));

function assertWrites(calls: CallRecord[], expected: RegExp[], what: string) {
  const writes = writesOf(calls);
  assert.equal(writes.length, expected.length, `${what}: ${writes.join(', ')}`);
  // Order within a kind's create is fixed by its steps; compare as sets of patterns per write.
  const unmatched = [...writes];
  for (const pattern of expected) {
    const i = unmatched.findIndex((w) => pattern.test(w));
    assert.ok(i >= 0, `${what}: no write matches ${pattern} in ${writes.join(', ')}`);
    unmatched.splice(i, 1);
  }
}

describe('the cluster lifecycle on both backend kinds (rke1 on Rancher 2.9, rke2 on 2.12, one Paddock)', () => {
  let paddock: TestPaddock;
  const sims = {} as Record<Kind, TestSimulator>;

  const row = async (clusterId: string) =>
    (await paddock.db.query('SELECT rancher_id, management_id FROM clusters WHERE id = $1', [clusterId]))
      .rows[0];
  const poolRow = async (clusterId: string, name: string) =>
    (
      await paddock.db.query('SELECT id, rancher_id FROM node_pools WHERE cluster_id = $1 AND name = $2', [
        clusterId,
        name,
      ])
    ).rows[0];

  /** The connection part of an rke2 registration of the 2.12 simulator; each test adds the rest. */
  const rke2Registration = (name: string) => ({
    name,
    url: sims.rke2.url,
    token: sims.rke2.token,
    kind: 'rke2',
    capacity: { maxClusters: 1, maxNodes: 1 },
  });

  async function settled(response: { status: number; body: any }) {
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const id = response.body.operation?.id ?? response.body.id;
    const op = await paddock.waitForOperation(id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    return op;
  }

  before(async () => {
    [sims.rke1, sims.rke2] = await Promise.all(
      (['rke1', 'rke2'] as const).map((k) =>
        startTestSimulator({ version: KINDS[k].version, nodeTemplates: [{ name: 'm1.large' }] }),
      ),
    );
    paddock = await startPaddock();
    for (const kind of ['rke1', 'rke2'] as const) {
      const registered = await paddock.registerBackend(`sim-${kind}`, sims[kind], {
        region: KINDS[kind].region,
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      assert.equal(registered.body.kind, kind);
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'kinds' })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  it('refuses to register a Rancher 2.12 as rke1 (422 naming rke2), saving nothing', async () => {
    const response = await paddock.request('POST', '/v1/admin/backends', {
      name: 'wrong-kind',
      url: sims.rke2.url,
      token: sims.rke2.token,
      kind: 'rke1',
      capacity: { maxClusters: 1, maxNodes: 1 },
      flavors: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-abcde' } },
    });
    assert.equal(response.status, 422, JSON.stringify(response.body));
    assert.equal(response.body.code, 'BACKEND_KIND_UNSUPPORTED');
    assert.match(response.body.detail, /"kind": "rke2"/);
    assert.equal((await paddock.db.query(`SELECT 1 FROM backends WHERE name = 'wrong-kind'`)).rowCount, 0);
  });

  it('refuses an rke2 registration without a cloud credential or with an rke1-shaped flavor (400)', async () => {
    const base = rke2Registration('bad-rke2');
    const noCredential = await paddock.request('POST', '/v1/admin/backends', {
      ...base,
      flavors: { 'm1.large': { machineConfig: { kind: 'OpenstackConfig', fields: {} } } },
    });
    assert.equal(noCredential.status, 400);
    const wrongFlavor = await paddock.request('POST', '/v1/admin/backends', {
      ...base,
      cloudCredential: 'cattle-global-data:cc-x',
      flavors: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-abcde' } },
    });
    assert.equal(wrongFlavor.status, 400);
    assert.equal(wrongFlavor.body.errors[0].field, 'flavors.m1.large.machineConfig');
    const unknownType = await paddock.request('POST', '/v1/admin/backends', {
      ...base,
      cloudCredential: 'cattle-global-data:cc-x',
      flavors: { 'm1.large': { machineConfig: { kind: 'NopeConfig', fields: {} } } },
    });
    assert.equal(unknownType.status, 422, JSON.stringify(unknownType.body));
    assert.equal(unknownType.body.code, 'BACKEND_VERIFICATION_FAILED');
  });

  it('refuses an rke2 registration whose cloud credential is missing or for another driver (422 naming cloudCredential), saving nothing', async () => {
    const base = {
      ...rke2Registration('cred-rke2'),
      flavors: {
        'm1.large': { machineConfig: { kind: 'OpenstackConfig', fields: { flavorName: 'm1.large' } } },
      },
    };
    const absent = await paddock.request('POST', '/v1/admin/backends', {
      ...base,
      cloudCredential: 'cattle-global-data:cc-nope1',
    });
    assert.equal(absent.status, 422, JSON.stringify(absent.body));
    assert.equal(absent.body.code, 'BACKEND_VERIFICATION_FAILED');
    assert.deepEqual(
      absent.body.errors.map((e: { field: string }) => e.field),
      ['cloudCredential'],
    );
    assert.match(absent.body.detail, /cc-nope1 does not exist on the backend/);

    // A real credential, made through the simulator's own /v3, but for AWS: no OpenStack machine
    // could be made with it.
    const aws = await sims.rke2.rancher('POST', '/v3/cloudcredentials', {
      type: 'cloudCredential',
      name: 'aws',
      amazonec2credentialConfig: { accessKey: 'AKIAEXAMPLE', secretKey: 'not-shown' },
    });
    assert.equal(aws.status, 201, JSON.stringify(aws.body));
    const wrongDriver = await paddock.request('POST', '/v1/admin/backends', {
      ...base,
      cloudCredential: aws.body.id,
    });
    assert.equal(wrongDriver.status, 422, JSON.stringify(wrongDriver.body));
    assert.equal(wrongDriver.body.code, 'BACKEND_VERIFICATION_FAILED');
    assert.equal(wrongDriver.body.errors[0].field, 'cloudCredential');
    assert.match(
      wrongDriver.body.detail,
      /holds no openstack credentials \(it serves amazonec2\).*m1\.large/,
    );
    assert.equal((await paddock.db.query(`SELECT 1 FROM backends WHERE name = 'cred-rke2'`)).rowCount, 0);

    // The same check guards a PATCH of the registered backend's credential; nothing changes.
    const patched = await paddock.request('PATCH', '/v1/admin/backends/sim-rke2', {
      cloudCredential: aws.body.id,
    });
    assert.equal(patched.status, 422, JSON.stringify(patched.body));
    assert.equal(patched.body.errors[0].field, 'cloudCredential');
    const kept = (await paddock.request('GET', '/v1/admin/backends/sim-rke2')).body;
    assert.equal(kept.cloudCredential, sims.rke2.cloudCredentials[0].id);
  });

  it('refuses a Kubernetes version no backend offers (422 listing what exists), writing nothing', async () => {
    const response = await paddock.request(
      'POST',
      '/v1/projects/kinds/clusters',
      // Both backends list their versions (rke1 `k8s-versions-current`, rke2 the release list).
      clusterBody('old-version', { kubernetesVersion: 'v1.9' }),
    );
    assert.equal(response.status, 422, JSON.stringify(response.body));
    assert.equal(response.body.code, 'VERSION_NOT_AVAILABLE');
    assert.ok(response.body.available.length > 0);
    assert.equal((await paddock.db.query(`SELECT 1 FROM clusters WHERE name = 'old-version'`)).rowCount, 0);
  });

  for (const kind of ['rke1', 'rke2'] as const) {
    const profile = KINDS[kind];
    describe(kind, () => {
      let clusterId: string;

      it(`create: exactly the ${kind} writes (${kind === 'rke2' ? 'P machine configs + 1 cluster' : '1 cluster + P pools'}), the ${kind} steps, then active with ready nodes`, async () => {
        const sim = sims[kind];
        await sim.clearCalls();
        const created = await paddock.request(
          'POST',
          '/v1/projects/kinds/clusters',
          clusterBody(`life-${kind}`, { region: profile.region }),
        );
        const op = await settled(created);
        clusterId = created.body.cluster.id;
        assert.deepEqual(
          op.steps.map((s: { name: string }) => s.name),
          createSteps(kind, ['control', 'workers']),
        );
        assertWrites(await sim.calls(), profile.createWrites(2), `${kind} create`);
        const cluster = await waitFor(`life-${kind} synced with ready nodes`, async () => {
          const c = (await paddock.request('GET', `/v1/projects/kinds/clusters/life-${kind}`)).body;
          return c.state === 'active' && c.nodePools.every((p: any) => p.readyNodes === p.quantity)
            ? c
            : undefined;
        });
        assert.deepEqual(cluster.nodePools.map((p: any) => [p.name, p.observedQuantity]).sort(), [
          ['control', 1],
          ['workers', 2],
        ]);
        const nodes = (await paddock.request('GET', `/v1/projects/kinds/clusters/life-${kind}/nodes`)).body;
        assert.equal(nodes.items.length, 3);
      });

      it('the Kubernetes API is reachable through Paddock (rke2: through the c-m- management twin)', async () => {
        const ids = await waitFor('management id synced', async () => {
          const r = await row(clusterId);
          return r.management_id ? r : undefined;
        });
        if (kind === 'rke2') assert.match(ids.management_id, /^c-m-[a-z0-9]{8}$/);
        else assert.equal(ids.management_id, ids.rancher_id);
        const nodes = await paddock.request('GET', `/k8s/clusters/${clusterId}/api/v1/nodes`);
        assert.equal(nodes.status, 200, JSON.stringify(nodes.body));
        assert.equal(nodes.body.items.length, 3);
      });

      it('scale: one Rancher write, and the backend follows', async () => {
        const sim = sims[kind];
        await sim.clearCalls();
        await settled(
          await paddock.request('PATCH', `/v1/projects/kinds/clusters/life-${kind}/node-pools/workers`, {
            quantity: 3,
          }),
        );
        assertWrites(await sim.calls(), profile.scaleWrites, `${kind} scale`);
        await waitFor('3 ready workers', async () => {
          const c = (await paddock.request('GET', `/v1/projects/kinds/clusters/life-${kind}`)).body;
          const w = c.nodePools.find((p: any) => p.name === 'workers');
          return w.observedQuantity === 3 && w.readyNodes === 3 ? c : undefined;
        });
      });

      it('add and remove a pool: the kind’s writes each, nothing left on the backend', async () => {
        const sim = sims[kind];
        await sim.clearCalls();
        await settled(
          await paddock.request('POST', `/v1/projects/kinds/clusters/life-${kind}/node-pools`, {
            name: 'extra',
            roles: ['worker'],
            quantity: 1,
            flavor: 'm1.large',
          }),
        );
        assertWrites(await sim.calls(), profile.addPoolWrites, `${kind} add pool`);
        await sim.clearCalls();
        await settled(
          await paddock.request('DELETE', `/v1/projects/kinds/clusters/life-${kind}/node-pools/extra`),
        );
        assertWrites(await sim.calls(), profile.removePoolWrites, `${kind} remove pool`);
        await assertNoOrphans(paddock, [sim]);
      });

      it('drift made through the simulator’s own API is reported: InSync=False NodePoolDrift', async () => {
        const sim = sims[kind];
        const ids = await row(clusterId);
        const workers = await poolRow(clusterId, 'workers');
        await profile.scaleBehindPaddock(sim, ids.rancher_id, workers.rancher_id, 1);
        const cluster = await waitFor('drift reported', async () => {
          const c = (await paddock.request('GET', `/v1/projects/kinds/clusters/life-${kind}`)).body;
          return c.conditions.find((x: any) => x.type === 'InSync' && x.reason === 'NodePoolDrift')
            ? c
            : undefined;
        });
        assert.equal(cluster.nodePools.find((p: any) => p.name === 'workers').observedQuantity, 1);
        // Put it back so the cluster is at rest again.
        await profile.scaleBehindPaddock(sim, ids.rancher_id, workers.rancher_id, 3);
      });

      it('delete: the cluster (and on rke2 its machine configs and twin) leave the backend', async () => {
        const ids = await row(clusterId);
        await settled(await paddock.request('DELETE', `/v1/projects/kinds/clusters/life-${kind}`));
        await assertNoOrphans(paddock, [sims[kind]]);
        if (kind === 'rke2') {
          await waitFor('twin gone', async () =>
            (await sims.rke2.rancher('GET', `/v3/clusters/${ids.management_id}`)).status === 404
              ? true
              : undefined,
          );
        }
      });
    });
  }

  it('mixed fleet: creates without a region are placed across both kinds and all land', async () => {
    const ops = [];
    for (let i = 0; i < 4; i++) {
      const created = await paddock.request('POST', '/v1/projects/kinds/clusters', clusterBody(`mixed-${i}`));
      assert.equal(created.status, 202, JSON.stringify(created.body));
      ops.push(created.body.operation.id);
    }
    for (const id of ops) assert.equal((await paddock.waitForOperation(id)).state, 'succeeded');
    const { rows } = await paddock.db.query(
      `SELECT b.kind, count(*)::int AS n FROM clusters c JOIN backends b ON b.id = c.backend_id
       WHERE c.name LIKE 'mixed-%' GROUP BY b.kind ORDER BY b.kind`,
    );
    assert.deepEqual(rows, [
      { kind: 'rke1', n: 2 },
      { kind: 'rke2', n: 2 },
    ]);
    await assertNoOrphans(paddock, Object.values(sims));
  });

  it('a minor version resolves to the newest patch the chosen rke2 backend offers', async () => {
    const backend = (await paddock.request('GET', '/v1/admin/backends/sim-rke2')).body;
    const newest: string = backend.kubernetesVersions[0];
    const minor = newest.split('.').slice(0, 2).join('.');
    const created = await paddock.request(
      'POST',
      '/v1/projects/kinds/clusters',
      clusterBody('minor-version', { region: KINDS.rke2.region, kubernetesVersion: minor }),
    );
    await settled(created);
    const remote = await sims.rke2.rancher(
      'GET',
      `/v1/provisioning.cattle.io.clusters/${(await row(created.body.cluster.id)).rancher_id}`,
    );
    assert.match(
      remote.body.spec.kubernetesVersion,
      new RegExp(`^${newest.replace(/\./g, '\\.')}\\+rke2r\\d+$`),
    );
    const cluster = (await paddock.request('GET', '/v1/projects/kinds/clusters/minor-version')).body;
    assert.equal(cluster.kubernetesVersion, newest);
  });
});
