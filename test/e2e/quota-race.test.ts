/**
 * The race: two API processes against one database take 200 concurrent creates and scale-ups
 * at a project whose quota admits exactly 15 of them; afterwards exactly 15 were accepted, the
 * counters equal the truth recomputed from the cluster tables, and the simulator holds exactly
 * the accepted clusters and nodes. The race runs once per backend kind (rke1 through `/v3`, rke2
 * through steve `/v1`: machine configs, provisioning clusters, machines). Then the create 202 latency at 50 concurrent clients with
 * quota enforcement on, beside the same with it off.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { waitForAllOperationsTerminal } from '../support/invariants';
import {
  ApiProcess,
  bearer,
  issueToken,
  startApiProcess,
  startPaddock,
  TEST_ADMIN_TOKEN,
  TestPaddock,
  waitFor,
} from '../support/paddock';
import { BACKEND_KINDS, BackendKind, KIND_VERSIONS } from '../support/kinds';
import { remoteClusters, remoteNodes, remotePools } from '../support/remote';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const PRE_EXISTING = 10;
const CREATES = 190;
const NODE_LIMIT = 40;
/** Every request asks for two nodes: a 2-node cluster, or a 1 → 3 scale-up. */
const ALLOWED = (NODE_LIMIT - PRE_EXISTING) / 2;

const single = (name: string, quantity: number, region?: string) => ({
  name,
  ...(region ? { region } : {}),
  nodePools: [{ name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity, flavor: 'm1.large' }],
});

async function send(
  base: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

// One Paddock and its two API processes for both kinds: each race has its own backend (pinned by
// region) and project, and they run one after the other.
describe('quota race across two API processes', () => {
  let paddock: TestPaddock;
  const sims = {} as Record<BackendKind, TestSimulator>;
  let apis: ApiProcess[] = [];

  before(async () => {
    [sims.rke1, sims.rke2] = await Promise.all(
      BACKEND_KINDS.map((kind) =>
        startTestSimulator({ version: KIND_VERSIONS[kind], nodeTemplates: [{ name: 'm1.large' }] }),
      ),
    );
    paddock = await startPaddock();
    for (const kind of BACKEND_KINDS) {
      const registered = await paddock.registerBackend(`sim-${kind}`, sims[kind], {
        region: kind,
        capacity: { maxClusters: 10_000, maxNodes: 100_000 },
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      assert.equal(registered.body.kind, kind);
    }
    apis = await Promise.all([startApiProcess(paddock), startApiProcess(paddock)]);
  });

  after(async () => {
    await Promise.all(apis.map((a) => a.stop()));
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  for (const kind of BACKEND_KINDS) {
    const project = `race-${kind}`;

    it(`${kind}: accepts exactly what fits, and usage equals the truth on both sides`, async () => {
      const sim = sims[kind];
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: project })).status, 201);
      const made = await Promise.all(
        Array.from({ length: PRE_EXISTING }, (_, i) =>
          paddock.request('POST', `/v1/projects/${project}/clusters`, single(`pre-${i}`, 1, kind)),
        ),
      );
      for (const r of made) assert.equal(r.status, 202, JSON.stringify(r.body));
      for (const r of made)
        assert.equal((await paddock.waitForOperation(r.body.operation.id)).state, 'succeeded');
      const quota = await paddock.request('PUT', `/v1/admin/projects/${project}/quota`, {
        clusters: PRE_EXISTING + ALLOWED + 5,
        nodes: NODE_LIMIT,
      });
      assert.equal(quota.status, 200);

      const ci = bearer((await issueToken(paddock, { subject: `ci-${kind}`, role: 'ci', project })).secret);
      const requests = [
        ...Array.from({ length: CREATES }, (_, i) => ({
          kind: 'create',
          method: 'POST',
          path: `/v1/projects/${project}/clusters`,
          body: single(`r-${i}`, 2, kind) as unknown,
        })),
        ...Array.from({ length: PRE_EXISTING }, (_, i) => ({
          kind: 'scale',
          method: 'PATCH',
          path: `/v1/projects/${project}/clusters/pre-${i}/node-pools/all`,
          body: { quantity: 3 } as unknown,
        })),
      ].sort(() => Math.random() - 0.5);
      const results = await Promise.all(
        requests.map((r, i) =>
          send(apis[i % apis.length].url, r.method, r.path, r.body, ci).then((res) => ({ ...r, ...res })),
        ),
      );
      const count = (what: string, status: number) =>
        results.filter((r) => r.kind === what && r.status === status).length;
      const summary = {
        creates: { accepted: count('create', 202), refused: count('create', 409) },
        scaleUps: { accepted: count('scale', 202), refused: count('scale', 409) },
      };
      console.log(
        `race (${kind}): ${results.length} concurrent requests over ${apis.length} API processes → ${JSON.stringify(summary)}`,
      );
      const unexpected = results.filter(
        (r) => r.status !== 202 && !(r.status === 409 && r.body?.code === 'QUOTA_EXCEEDED'),
      );
      assert.deepEqual(
        unexpected.map((r) => [r.status, r.body]),
        [],
      );
      assert.equal(summary.creates.accepted + summary.scaleUps.accepted, ALLOWED);

      const operations = results
        .filter((r) => r.status === 202)
        .map((r) => r.body.operation?.id ?? r.body.id);
      await waitForAllOperationsTerminal(paddock, 90_000);
      for (const id of operations) assert.equal((await paddock.waitForOperation(id)).state, 'succeeded');

      const used = (await paddock.request('GET', `/v1/projects/${project}/quota`, undefined, ci)).body;
      const { rows } = await paddock.db.query(
        `SELECT count(DISTINCT c.id)::int AS clusters, coalesce(sum(np.quantity), 0)::int AS nodes
         FROM clusters c JOIN projects p ON p.id = c.project_id
         JOIN node_pools np ON np.cluster_id = c.id AND np.state NOT IN ('deleted', 'failed')
         WHERE p.name = $1 AND c.state NOT IN ('deleted', 'failed')`,
        [project],
      );
      const truth = rows[0];
      console.log(
        `race (${kind}): quota clusters used=${used.clusters.used} reserved=${used.clusters.reserved} (truth ${truth.clusters}), ` +
          `nodes used=${used.nodes.used} reserved=${used.nodes.reserved} (truth ${truth.nodes}, limit ${NODE_LIMIT})`,
      );
      assert.deepEqual(
        {
          clusters: [used.clusters.used, used.clusters.reserved],
          nodes: [used.nodes.used, used.nodes.reserved],
        },
        { clusters: [truth.clusters, 0], nodes: [truth.nodes, 0] },
      );
      assert.equal(truth.clusters, PRE_EXISTING + summary.creates.accepted);
      assert.equal(truth.nodes, NODE_LIMIT);
      assert.deepEqual((await paddock.request('POST', '/v1/admin/quotas/reconcile')).body.repaired, []);

      // The backend holds exactly the accepted clusters and nodes (rke2: machine pools and machines).
      const remote = await waitFor('the simulator to hold every accepted node', async () => {
        const clusters = (await remoteClusters(sim, kind)).filter((c) => c.state !== 'removing');
        const pools = await remotePools(sim, kind);
        const nodes = await remoteNodes(sim, kind);
        const quantity = pools.reduce((sum, p) => sum + p.quantity, 0);
        const seen = { clusters: clusters.length, poolQuantity: quantity, nodes: nodes.length };
        return seen.nodes === NODE_LIMIT ? seen : null;
      });
      console.log(`race (${kind}): simulator holds ${JSON.stringify(remote)}`);
      assert.deepEqual(remote, { clusters: truth.clusters, poolQuantity: NODE_LIMIT, nodes: NODE_LIMIT });
    });
  }
});

describe('create 202 latency with and without quota enforcement', () => {
  let paddock: TestPaddock;
  let sim: TestSimulator;
  let enforced: ApiProcess;
  let unenforced: ApiProcess;

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock({ workers: 'none' });
    assert.equal(
      (
        await paddock.registerBackend('sim-a', sim, {
          capacity: { maxClusters: 100_000, maxNodes: 1_000_000 },
        })
      ).status,
      201,
    );
    for (const name of ['quota-on', 'quota-off']) {
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
      assert.equal(
        (
          await paddock.request('PUT', `/v1/admin/projects/${name}/quota`, {
            clusters: 1_000_000,
            nodes: 100_000_000,
          })
        ).status,
        200,
      );
    }
    [enforced, unenforced] = await Promise.all([
      startApiProcess(paddock),
      startApiProcess(paddock, { PADDOCK_QUOTA_ENFORCEMENT: 'off' }),
    ]);
  });

  after(async () => {
    await Promise.all([enforced?.stop(), unenforced?.stop()]);
    await paddock?.close();
    await sim?.close();
  });

  /** `clients` loops, each sending `perClient` creates one after another; latencies in ms. */
  async function load(api: ApiProcess, project: string, tag: string, clients: number, perClient: number) {
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; i < perClient; i++) {
          const started = performance.now();
          const response = await send(
            api.url,
            'POST',
            `/v1/projects/${project}/clusters`,
            single(`${tag}-${c}-${i}`, 3),
            bearer(TEST_ADMIN_TOKEN),
          );
          latencies.push(performance.now() - started);
          assert.equal(response.status, 202, JSON.stringify(response.body));
        }
      }),
    );
    return latencies.sort((a, b) => a - b);
  }

  it('measures p50/p99 at 50 concurrent clients', async () => {
    const figures: Record<string, { p50: number; p99: number; requests: number }> = {};
    for (const [label, api, project] of [
      ['quota on', enforced, 'quota-on'],
      ['quota off', unenforced, 'quota-off'],
    ] as const) {
      await load(api, project, 'warm', 10, 10);
      const sorted = await load(api, project, 'm', 50, 20);
      figures[label] = {
        p50: Math.round(percentile(sorted, 50) * 10) / 10,
        p99: Math.round(percentile(sorted, 99) * 10) / 10,
        requests: sorted.length,
      };
    }
    console.log(`create 202 latency at 50 concurrent clients (ms): ${JSON.stringify(figures)}`);
    const { rows } = await paddock.db.query(
      `SELECT p.name, q.clusters_reserved, q.nodes_reserved FROM project_quotas q JOIN projects p ON p.id = q.project_id
       WHERE p.name IN ('quota-on', 'quota-off') ORDER BY p.name`,
    );
    // Enforcement on reserves every create; off takes nothing (the reconcile job would recount).
    assert.deepEqual(rows, [
      { name: 'quota-off', clusters_reserved: 0, nodes_reserved: 0 },
      { name: 'quota-on', clusters_reserved: 1100, nodes_reserved: 3300 },
    ]);
  });
});
