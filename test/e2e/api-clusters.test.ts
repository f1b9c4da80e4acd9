/**
 * The cluster API end to end against simulators of both backend kinds behind one Paddock: the
 * exact Rancher calls a create makes, the shapes of every answer, pagination, kubeconfig, nodes,
 * node-pool changes, conflicts and placement across backends.
 *
 * Backends: `sim-a` (region r1, an rke1 backend on a simulated Rancher 2.11) and `sim-b` (region
 * r2, an rke2 backend on a simulated 2.12) are fast and offer m1.large; `sim-slow` (r3, rke1, only
 * s1.slow) and `sim-slow2` (r4, rke2, only s2.slow) have nodes that never finish provisioning, for
 * operations that must stay in flight. Every case that reaches a backend runs once per kind, the
 * two kinds side by side, each on its own backends and projects; `KINDS` says what differs on the
 * wire (the Rancher writes, the steps, where the objects live). Cases that Paddock decides alone
 * (placement, refusals) run once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans } from '../support/invariants';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { BackendKind, createSteps, KIND_VERSIONS, PROBE_READS, SYNC_LISTS } from '../support/kinds';
import { remoteCluster, remoteClusters, remoteNodes, remotePools } from '../support/remote';
import { CallRecord, startTestSimulator, TestSimulator } from '../support/simulator';

const CLUSTER_KEYS = [
  'activeOperationId',
  'conditions',
  'createdAt',
  'expiresAt',
  'id',
  'kubernetesVersion',
  'labels',
  'name',
  'nodeCount',
  'nodePools',
  'project',
  'region',
  'state',
  'statusUpdatedAt',
  'updatedAt',
];
const POOL_KEYS = [
  'autoReplace',
  'createdAt',
  'flavor',
  'id',
  'name',
  'observedQuantity',
  'quantity',
  'readyNodes',
  'roles',
  'state',
];
const OPERATION_KEYS = [
  'cancelRequestedAt',
  'clusterId',
  'cluster',
  'createdAt',
  'deadlineAt',
  'error',
  'finishedAt',
  'id',
  'nodePool',
  'project',
  'state',
  'steps',
  'type',
  'updatedAt',
].sort();
const STEP_KEYS = ['attempts', 'finishedAt', 'lastError', 'name', 'startedAt', 'state'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function pools(count: number) {
  return [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
    ...Array.from({ length: count - 1 }, (_, i) => ({
      name: `workers-${i + 1}`,
      roles: ['worker'],
      quantity: 1,
      flavor: 'm1.large',
    })),
  ].map((p, _, all) => (all.length === 1 ? { ...p, roles: ['etcd', 'controlplane', 'worker'] } : p));
}

const MACHINE_CONFIGS = '/v1/rke-machine-config.cattle.io.openstackconfigs';
const PROVISIONING_CLUSTERS = '/v1/provisioning.cattle.io.clusters';

/** What differs per backend kind in these cases. */
interface KindProfile {
  /** The fast backend (offers m1.large) and the slow one (only `slowFlavor`). */
  fast: { name: string; region: string };
  slow: { name: string; region: string; flavor: string };
  /** The writes of a create with `p` pools, in words (for the case's name). */
  createSummary(p: number): string;
  /** The successful Rancher writes of a create with these pool names, in order. */
  createWrites(pools: string[]): string[];
  /** The successful writes of adding a pool to the cluster `rancherId`. */
  addPoolWrites(rancherId: string): string[];
  addPoolSteps(pool: string): string[];
  deletePoolSteps(pool: string): string[];
  deleteSteps: string[];
  /** The Kubernetes version as the backend's cluster object carries it. */
  remoteVersion(cluster: any): string | undefined;
}

const KINDS: Record<BackendKind, KindProfile> = {
  rke1: {
    fast: { name: 'sim-a', region: 'r1' },
    slow: { name: 'sim-slow', region: 'r3', flavor: 's1.slow' },
    createSummary: (p) => `one POST /v3/clusters and ${p} POST /v3/nodepools`,
    createWrites: (pools) => ['POST /v3/clusters', ...pools.map(() => 'POST /v3/nodepools')],
    addPoolWrites: () => ['POST /v3/nodepools'],
    addPoolSteps: (pool) => [`create-node-pool:${pool}`, 'await-active'],
    deletePoolSteps: (pool) => [`delete-node-pool:${pool}`, `await-node-pool-deleted:${pool}`],
    deleteSteps: ['delete-cluster', 'await-cluster-deleted', 'remove-bucket'],
    remoteVersion: (c) => c.rancherKubernetesEngineConfig?.kubernetesVersion,
  },
  rke2: {
    fast: { name: 'sim-b', region: 'r2' },
    slow: { name: 'sim-slow2', region: 'r4', flavor: 's2.slow' },
    // One machine config per pool, then one provisioning cluster carrying every pool inline.
    createSummary: (p) => `${p} machine-config POST(s) and one provisioning cluster POST`,
    createWrites: (pools) => [...pools.map(() => `POST ${MACHINE_CONFIGS}`), `POST ${PROVISIONING_CLUSTERS}`],
    addPoolWrites: (rancherId) => [`POST ${MACHINE_CONFIGS}`, `PUT ${PROVISIONING_CLUSTERS}/${rancherId}`],
    addPoolSteps: (pool) => [`create-machine-config:${pool}`, `create-node-pool:${pool}`, 'await-active'],
    deletePoolSteps: (pool) => [
      `delete-node-pool:${pool}`,
      `await-node-pool-deleted:${pool}`,
      `delete-machine-configs:${pool}`,
    ],
    deleteSteps: ['delete-cluster', 'await-cluster-deleted', 'delete-machine-configs', 'remove-bucket'],
    remoteVersion: (c) => c.spec?.kubernetesVersion,
  },
};

/**
 * The writes in a call log that did not succeed, less the ones a kind's driver is meant to meet:
 * on rke2 an update whose `resourceVersion` the simulator's own reconcile made stale is answered
 * 409 `Conflict`, and re-read and redone (rancher-api.md §9.1).
 */
const unexpectedFailures = (kind: BackendKind, calls: CallRecord[]) =>
  calls.filter(
    (c) =>
      c.method !== 'GET' && c.status >= 300 && !(kind === 'rke2' && c.method === 'PUT' && c.status === 409),
  );

const successfulWrites = (calls: CallRecord[]) =>
  calls.filter((c) => c.method !== 'GET' && c.status < 300).map((c) => `${c.method} ${c.path}`);

/** Rancher's answer to a write, without its ids: rke1 `/v3` ids, rke2 `fleet-default/<name>`. */
const shortPath = (path: string) =>
  path.replace(/\/(c-|p-)[\w-:]+$/, '/$1…').replace(/\/fleet-default\/[^/]+$/, '/fleet-default/…');

describe('clusters API', () => {
  let paddock: TestPaddock;
  const fast = {} as Record<BackendKind, TestSimulator>;
  const slow = {} as Record<BackendKind, TestSimulator>;

  const backendOf = async (clusterId: string) =>
    (
      await paddock.db.query<{ name: string }>(
        'select b.name from clusters c join backends b on b.id = c.backend_id where c.id = $1',
        [clusterId],
      )
    ).rows[0].name;
  const rancherIdOf = async (clusterId: string) =>
    (
      await paddock.db.query<{ rancher_id: string }>('select rancher_id from clusters where id = $1', [
        clusterId,
      ])
    ).rows[0].rancher_id;
  /** Rows of a project only: the other kind's cases run at the same time. */
  const countIn = async (table: 'clusters' | 'operations', project: string) =>
    (
      await paddock.db.query(
        `select count(*)::int as n from ${table} t join projects p on p.id = t.project_id where p.name = $1`,
        [project],
      )
    ).rows[0].n;

  /** Creates a cluster and waits for its operation to succeed; returns the 202 body. */
  async function createActive(project: string, body: Record<string, unknown>) {
    const created = await paddock.request('POST', `/v1/projects/${project}/clusters`, body);
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const op = await paddock.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    return created.body;
  }

  before(async () => {
    const kinds = ['rke1', 'rke2'] as const;
    const started = await Promise.all(
      kinds.flatMap((kind) => [
        startTestSimulator({ version: KIND_VERSIONS[kind], nodeTemplates: [{ name: 'm1.large' }] }),
        startTestSimulator({
          version: KIND_VERSIONS[kind],
          nodeTemplates: [{ name: KINDS[kind].slow.flavor }],
          timings: { nodeProvisionMs: 600_000 },
        }),
      ]),
    );
    kinds.forEach((kind, i) => {
      [fast[kind], slow[kind]] = [started[2 * i], started[2 * i + 1]];
    });
    paddock = await startPaddock();
    for (const kind of kinds) {
      const { fast: f, slow: s } = KINDS[kind];
      const registered = await paddock.registerBackend(f.name, fast[kind], { region: f.region });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      assert.equal(registered.body.kind, kind);
      // rke2 flavors are machine-config templates: the slow one offers only its own.
      const slowFlavors =
        kind === 'rke2'
          ? {
              flavors: {
                [s.flavor]: {
                  machineConfig: {
                    kind: 'OpenstackConfig',
                    fields: { flavorName: s.flavor, imageName: 'ubuntu-22.04' },
                  },
                },
              },
            }
          : {};
      const slowRegistered = await paddock.registerBackend(s.name, slow[kind], {
        region: s.region,
        ...slowFlavors,
      });
      assert.equal(slowRegistered.status, 201, JSON.stringify(slowRegistered.body));
    }
    for (const name of ['web', 'pager', ...kinds.flatMap((k) => [`web-${k}`, `other-${k}`])]) {
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    }
  });

  after(async () => {
    await paddock?.close();
    await Promise.all([...Object.values(fast), ...Object.values(slow)].map((s) => s?.close()));
  });

  describe('placement across backends (a mixed fleet: rke1 and rke2)', () => {
    it('puts two creates on different backends of different kinds (fewest clusters first)', async () => {
      const first = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('place-1'));
      const second = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('place-2'));
      assert.equal(first.status, 202);
      assert.equal(second.status, 202);
      // Empty backends tie; the name breaks the tie, then sim-a holds one more than sim-b.
      assert.equal(await backendOf(first.body.cluster.id), 'sim-a');
      assert.equal(await backendOf(second.body.cluster.id), 'sim-b');
      assert.equal((await paddock.waitForOperation(first.body.operation.id)).state, 'succeeded');
      assert.equal((await paddock.waitForOperation(second.body.operation.id)).state, 'succeeded');
      assert.equal(
        (await remoteCluster(fast.rke1, 'rke1', await rancherIdOf(first.body.cluster.id))).status,
        200,
      );
      assert.equal(
        (await remoteCluster(fast.rke2, 'rke2', await rancherIdOf(second.body.cluster.id))).status,
        200,
      );
    });

    it('places nothing on a draining backend', async () => {
      const drained = await paddock.request('PATCH', '/v1/admin/backends/sim-a', { state: 'draining' });
      assert.equal(drained.status, 200);
      assert.equal(drained.body.state, 'draining');
      try {
        const ids: string[] = [];
        const operations: string[] = [];
        for (const name of ['drain-1', 'drain-2', 'drain-3']) {
          const created = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody(name));
          assert.equal(created.status, 202);
          ids.push(created.body.cluster.id);
          operations.push(created.body.operation.id);
        }
        for (const id of ids) assert.equal(await backendOf(id), 'sim-b');
        // These creates finish before the next test: the rke2 call-count tests clear sim-b's call
        // log and count every write after it, so a create still running here would land in theirs.
        for (const id of operations) assert.equal((await paddock.waitForOperation(id)).state, 'succeeded');
        const pinned = await paddock.request(
          'POST',
          '/v1/projects/web/clusters',
          clusterBody('drain-4', { region: 'r1' }),
        );
        assert.equal(pinned.status, 503);
        assert.deepEqual(pinned.body.reasons, {
          'sim-a': 'state is draining',
          'sim-b': 'region is r2',
          'sim-slow': 'region is r3',
          'sim-slow2': 'region is r4',
        });
        // Existing clusters on the draining backend still work: the first placement test's cluster reads fine.
        assert.equal((await paddock.request('GET', '/v1/projects/web/clusters/place-1')).status, 200);
      } finally {
        assert.equal(
          (await paddock.request('PATCH', '/v1/admin/backends/sim-a', { state: 'active' })).status,
          200,
        );
      }
    });

    it('answers 422 REGION_UNKNOWN for a region no backend offers, writing nothing', async () => {
      const before = (await paddock.db.query('select count(*)::int as n from clusters')).rows[0].n;
      const response = await paddock.request(
        'POST',
        '/v1/projects/web/clusters',
        clusterBody('nowhere', { region: 'mars' }),
      );
      assert.equal(response.status, 422);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.deepEqual(response.body, {
        type: 'https://paddock.dev/problems/region-unknown',
        title: 'Unprocessable Content',
        status: 422,
        detail: "region 'mars' is not offered by any backend",
        code: 'REGION_UNKNOWN',
        errors: [{ field: 'region', message: "region 'mars' is not offered by any backend" }],
      });
      assert.equal((await paddock.db.query('select count(*)::int as n from clusters')).rows[0].n, before);
    });

    it('answers 503 when the only backend with the flavor is full', async () => {
      assert.equal(
        (
          await paddock.request('PATCH', '/v1/admin/backends/sim-slow', {
            capacity: { maxClusters: 0, maxNodes: 10 },
          })
        ).status,
        200,
      );
      try {
        const response = await paddock.request(
          'POST',
          '/v1/projects/web/clusters',
          clusterBody('full', {
            nodePools: [
              { name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 's1.slow' },
            ],
          }),
        );
        assert.equal(response.status, 503);
        assert.deepEqual(response.body.reasons, {
          'sim-a': 'does not offer s1.slow',
          'sim-b': 'does not offer s1.slow',
          'sim-slow': 'cluster capacity 0 reached',
          'sim-slow2': 'does not offer s1.slow',
        });
      } finally {
        await paddock.request('PATCH', '/v1/admin/backends/sim-slow', {
          capacity: { maxClusters: 1000, maxNodes: 100000 },
        });
      }
    });
  });

  // Paddock's own refusals: the same on every kind, so checked once.
  describe('refusals Paddock decides alone', () => {
    it('refuses a pool name that is already taken', async () => {
      const response = await paddock.request('POST', '/v1/projects/web/clusters/place-1/node-pools', {
        name: 'workers',
        roles: ['worker'],
        quantity: 1,
        flavor: 'm1.large',
      });
      assert.equal(response.status, 409);
      assert.equal(response.body.code, 'NODE_POOL_EXISTS');
    });
  });

  // Both kinds at once, each on its own backends and projects; the cases of one kind in order.
  describe('on each backend kind', { concurrency: true }, () => {
    for (const kind of ['rke1', 'rke2'] as const) {
      const profile = KINDS[kind];
      const web = `web-${kind}`;
      const other = `other-${kind}`;
      const region = profile.fast.region;

      describe(kind, { concurrency: 1 }, () => {
        describe('create', () => {
          for (const p of [1, 2, 3]) {
            it(`makes exactly ${profile.createSummary(p)} for ${p} pool(s)`, async () => {
              const sim = fast[kind];
              await sim.clearCalls();
              const poolNames = pools(p).map((x) => x.name);
              const body = await createActive(web, { name: `calls-${p}`, region, nodePools: pools(p) });
              const calls = await sim.calls();
              const writes = calls
                .filter((c) => c.method !== 'GET')
                .map((c) => `${c.method} ${shortPath(c.path)} ${c.status}`);
              const gets = calls.filter((c) => c.method === 'GET');
              const getPaths: Record<string, number> = {};
              for (const c of gets) getPaths[c.path] = (getPaths[c.path] ?? 0) + 1;
              // The status sync lists each of its collections once per cycle while the create runs
              // (only the sync lists nodes), and the probe reads on its own period: the worker's own
              // GETs are the rest.
              const cycles = getPaths[SYNC_LISTS[kind][0]] ?? 0;
              const workerGets = Object.entries(getPaths)
                .filter(([path]) => !PROBE_READS[kind].includes(path))
                .map(([path, n]) => [path, SYNC_LISTS[kind].includes(path) ? n - cycles : n] as const)
                .filter(([, n]) => n > 0);
              console.log(
                `Rancher calls per ${kind} create with P=${p}: writes=${JSON.stringify(writes)} GETs=${gets.length} ${JSON.stringify(getPaths)}; ` +
                  `sync cycles≈${cycles}, worker GETs≈${workerGets.reduce((sum, [, n]) => sum + n, 0)} ${JSON.stringify(Object.fromEntries(workerGets))}`,
              );
              assert.deepEqual(successfulWrites(calls), profile.createWrites(poolNames));
              // rke1: the permission window is waited out (InitialRolesPopulated), not hammered with
              // 403s; rke2 has none (the pools come with the cluster).
              assert.deepEqual(unexpectedFailures(kind, calls), []);
              assert.equal(await backendOf(body.cluster.id), profile.fast.name);
            });
          }

          it('answers 202 {cluster, operation} with Location and the planned steps', async () => {
            const started = Date.now();
            const response = await paddock.request('POST', `/v1/projects/${web}/clusters`, {
              name: 'shape',
              region,
              kubernetesVersion: 'v1.30.14',
              labels: { team: 'web', tier: 'prod' },
              nodePools: [
                { name: 'control', roles: ['controlplane', 'etcd'], quantity: 1, flavor: 'm1.large' },
                { name: 'workers', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
              ],
            });
            const elapsed = Date.now() - started;
            assert.equal(response.status, 202);
            // That the answer did not wait for Rancher is shown by the steps below (nothing past the
            // create has run), not by a time ceiling a loaded machine can miss.
            console.log(`${kind} create answered 202 in ${elapsed} ms`);
            assert.deepEqual(Object.keys(response.body).sort(), ['cluster', 'operation']);
            const { cluster, operation } = response.body;
            assert.equal(response.headers.get('location'), `/v1/operations/${operation.id}`);
            assert.deepEqual(Object.keys(cluster).sort(), CLUSTER_KEYS);
            assert.match(cluster.id, UUID);
            assert.equal(cluster.name, 'shape');
            assert.equal(cluster.project, web);
            assert.equal(cluster.state, 'provisioning');
            assert.equal(cluster.kubernetesVersion, 'v1.30.14');
            assert.equal(cluster.region, region);
            assert.deepEqual(cluster.labels, { team: 'web', tier: 'prod' });
            assert.equal(cluster.nodeCount, 0);
            assert.equal(cluster.statusUpdatedAt, null);
            assert.equal(cluster.activeOperationId, operation.id);
            assert.deepEqual(
              cluster.nodePools.map((p: Record<string, unknown>) => [
                p.name,
                p.roles,
                p.quantity,
                p.flavor,
                p.state,
                p.observedQuantity,
                p.readyNodes,
              ]),
              [
                ['control', ['etcd', 'controlplane'], 1, 'm1.large', 'provisioning', null, 0],
                ['workers', ['worker'], 2, 'm1.large', 'provisioning', null, 0],
              ],
            );
            for (const pool of cluster.nodePools) assert.deepEqual(Object.keys(pool).sort(), POOL_KEYS);

            assert.deepEqual(Object.keys(operation).sort(), OPERATION_KEYS);
            assert.equal(operation.type, 'create-cluster');
            // The worker may already have picked it up between the commit and the read of the answer.
            assert.ok(['pending', 'running'].includes(operation.state), operation.state);
            assert.equal(operation.project, web);
            assert.equal(operation.cluster, 'shape');
            assert.equal(operation.clusterId, cluster.id);
            assert.equal(operation.nodePool, null);
            assert.equal(operation.error, null);
            assert.equal(operation.finishedAt, null);
            assert.match(operation.deadlineAt, ISO);
            assert.deepEqual(
              operation.steps.map((s: { name: string }) => s.name),
              createSteps(kind, ['control', 'workers']),
            );
            // Nothing past the Rancher create can have started yet: it needs Rancher's answers first.
            const later = operation.steps.filter(
              (s: { name: string }) => s.name.startsWith('create-node-pool:') || s.name === 'await-active',
            );
            assert.deepEqual(
              later.map((s: Record<string, unknown>) => [
                s.state,
                s.attempts,
                s.startedAt,
                s.finishedAt,
                s.lastError,
              ]),
              Array.from({ length: 3 }, () => ['pending', 0, null, null, null]),
            );
            for (const step of operation.steps) assert.deepEqual(Object.keys(step).sort(), STEP_KEYS);

            const done = await paddock.waitForOperation(operation.id);
            assert.equal(done.state, 'succeeded');
            assert.match(done.finishedAt, ISO);
            for (const step of done.steps) {
              assert.equal(step.state, 'succeeded', JSON.stringify(step));
              assert.ok(step.attempts >= 1);
              assert.match(step.startedAt, ISO);
              assert.match(step.finishedAt, ISO);
            }
            // The version reached Rancher, in the kind's form (rke2: `v1.30.14+rke2rN`).
            const remote = await remoteCluster(fast[kind], kind, await rancherIdOf(cluster.id));
            assert.equal(remote.status, 200);
            assert.match(
              profile.remoteVersion(remote.body) ?? '',
              kind === 'rke1' ? /^v1\.30\.14/ : /^v1\.30\.14\+rke2r\d+$/,
            );
          });

          it('serves the cluster as synced: pools with observed and ready nodes, conditions, statusUpdatedAt', async () => {
            const cluster = await waitFor('shape to be fully synced', async () => {
              const response = await paddock.request('GET', `/v1/projects/${web}/clusters/shape`);
              const body = response.body;
              return body.state === 'active' &&
                body.nodeCount === 3 &&
                body.nodePools.every(
                  (p: { readyNodes: number; quantity: number }) => p.readyNodes === p.quantity,
                )
                ? body
                : undefined;
            });
            assert.deepEqual(Object.keys(cluster).sort(), CLUSTER_KEYS);
            assert.equal(cluster.activeOperationId, null);
            assert.match(cluster.statusUpdatedAt, ISO);
            assert.ok(Date.now() - Date.parse(cluster.statusUpdatedAt) < 5000, 'status is fresh');
            assert.deepEqual(
              cluster.nodePools.map((p: Record<string, unknown>) => [
                p.name,
                p.state,
                p.quantity,
                p.observedQuantity,
                p.readyNodes,
              ]),
              [
                ['control', 'active', 1, 1, 1],
                ['workers', 'active', 2, 2, 2],
              ],
            );
            const conditions = Object.fromEntries(
              cluster.conditions.map((c: { type: string; status: string }) => [c.type, c.status]),
            );
            assert.equal(conditions.Ready, 'True');
            assert.equal(conditions.BackendReachable, 'True');
            assert.equal(conditions.InSync, 'True');
          });

          it('lists the nodes as synced, with hostnames and pool names', async () => {
            const nodes = await waitFor('3 nodes of shape', async () => {
              const response = await paddock.request('GET', `/v1/projects/${web}/clusters/shape/nodes`);
              assert.equal(response.status, 200);
              return response.body.items.length === 3 &&
                response.body.items.every((n: { state: string }) => n.state === 'active')
                ? response.body
                : undefined;
            });
            assert.equal(nodes.nextCursor, null);
            const clusterId = (await paddock.request('GET', `/v1/projects/${web}/clusters/shape`)).body
              .id as string;
            const remote = await remoteNodes(fast[kind], kind, await rancherIdOf(clusterId));
            assert.deepEqual(
              nodes.items.map((n: { hostname: string }) => n.hostname).sort(),
              remote.map((n) => n.hostname).sort(),
            );
            assert.deepEqual(nodes.items.map((n: { nodePool: string }) => n.nodePool).sort(), [
              'control',
              'workers',
              'workers',
            ]);
            const byPool = (pool: string) =>
              nodes.items.filter((n: { nodePool: string }) => n.nodePool === pool);
            assert.deepEqual(byPool('control')[0].roles, ['etcd', 'controlplane']);
            assert.deepEqual(byPool('workers')[0].roles, ['worker']);
            for (const node of nodes.items) {
              assert.deepEqual(Object.keys(node).sort(), [
                'conditions',
                'hostname',
                'id',
                'ipAddress',
                'message',
                'nodePool',
                'registration',
                'roles',
                'source',
                'state',
                'transitioning',
                'updatedAt',
              ]);
              assert.match(node.id, UUID);
              // Pool nodes; a registered (own) server would read source "registered" with its registration.
              assert.equal(node.source, 'pool');
              assert.equal(node.registration, null);
              assert.equal(
                node.conditions.find((c: { type: string }) => c.type === 'Ready')?.status,
                'True',
                'the kubelet conditions as synced',
              );
            }
            // Nodes paginate too.
            const page1 = await paddock.request('GET', `/v1/projects/${web}/clusters/shape/nodes?limit=2`);
            assert.equal(page1.body.items.length, 2);
            assert.equal(typeof page1.body.nextCursor, 'string');
            const page2 = await paddock.request(
              'GET',
              `/v1/projects/${web}/clusters/shape/nodes?limit=2&cursor=${page1.body.nextCursor}`,
            );
            assert.equal(page2.body.items.length, 1);
            assert.equal(page2.body.nextCursor, null);
            assert.deepEqual(
              [...page1.body.items, ...page2.body.items].map((n: { id: string }) => n.id).sort(),
              nodes.items.map((n: { id: string }) => n.id).sort(),
            );
          });

          it('issues a kubeconfig for an active cluster', async () => {
            const response = await paddock.request('GET', `/v1/projects/${web}/clusters/shape/kubeconfig`);
            assert.equal(response.status, 200);
            assert.match(response.headers.get('content-type') ?? '', /^application\/yaml/);
            assert.equal(response.headers.get('cache-control'), 'no-store');
            assert.equal(typeof response.body, 'string');
            assert.match(response.body, /^kind: Config$/m);
            // Paddock's own proxy for the cluster, never the backend's (test/e2e/kube-access.test.ts).
            assert.match(response.body, /server: "?https?:\/\/[^\s"]*\/k8s\/clusters\/[0-9a-f-]{36}"?/);
            assert.match(response.body, /token: "?pdk_kc_/);
            assert.ok(
              !response.body.includes(fast[kind].token),
              'the backend token is not in the kubeconfig',
            );
          });
        });

        describe('operations', () => {
          it('long-polls: returns as soon as the operation finishes', async () => {
            const created = await paddock.request(
              'POST',
              `/v1/projects/${web}/clusters`,
              clusterBody('poll-fast', { region }),
            );
            assert.equal(created.status, 202);
            const started = Date.now();
            const response = await paddock.request(
              'GET',
              `/v1/operations/${created.body.operation.id}?waitSeconds=30`,
            );
            const elapsed = Date.now() - started;
            assert.equal(response.status, 200);
            assert.equal(response.body.state, 'succeeded');
            assert.ok(elapsed < 15_000, `long-poll took ${elapsed} ms`);
            // The NOTIFY answers it at once; the only other way out is the 5 s safety-net re-read, so any
            // answer well inside 5 s of the finish came from the NOTIFY (3 s leaves room for a loaded
            // machine's scheduling delays).
            const finishedAt = Date.parse(response.body.finishedAt);
            assert.ok(
              Date.now() - finishedAt < 3000,
              `answered ${Date.now() - finishedAt} ms after the operation finished`,
            );
          });

          it('long-polls: returns after about N seconds when the operation is still running', async () => {
            const created = await paddock.request(
              'POST',
              `/v1/projects/${web}/clusters`,
              clusterBody('poll-slow', {
                nodePools: [
                  {
                    name: 'all',
                    roles: ['etcd', 'controlplane', 'worker'],
                    quantity: 1,
                    flavor: profile.slow.flavor,
                  },
                ],
              }),
            );
            assert.equal(created.status, 202);
            assert.equal(await backendOf(created.body.cluster.id), profile.slow.name);
            const started = Date.now();
            const response = await paddock.request(
              'GET',
              `/v1/operations/${created.body.operation.id}?waitSeconds=2`,
            );
            const elapsed = Date.now() - started;
            assert.equal(response.status, 200);
            assert.ok(['pending', 'running'].includes(response.body.state), response.body.state);
            assert.ok(elapsed >= 1900 && elapsed < 3500, `long-poll of 2 s took ${elapsed} ms`);
            // Without waitSeconds the answer is immediate.
            const quick = Date.now();
            assert.equal(
              (await paddock.request('GET', `/v1/operations/${created.body.operation.id}`)).status,
              200,
            );
            assert.ok(Date.now() - quick < 500);
          });

          // Paddock's own refusal (from its state alone): checked once.
          if (kind === 'rke1')
            it('refuses a kubeconfig while the cluster is still provisioning', async () => {
              const response = await paddock.request(
                'GET',
                `/v1/projects/${web}/clusters/poll-slow/kubeconfig`,
              );
              assert.equal(response.status, 409);
              assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
              assert.equal(response.body.code, 'CLUSTER_NOT_READY');
              assert.equal(
                response.body.detail,
                "cluster 'poll-slow' is provisioning; a kubeconfig is available once it is active",
              );
            });

          it('refuses a second mutating request while an operation is in flight, and accepts it after', async () => {
            const created = await paddock.request('POST', `/v1/projects/${web}/clusters`, {
              name: 'busy',
              region,
              nodePools: pools(3),
            });
            assert.equal(created.status, 202);
            const opsBefore = await countIn('operations', web);
            const attempts = [
              ['PATCH', `/v1/projects/${web}/clusters/busy/node-pools/workers-1`, { quantity: 3 }],
              [
                'POST',
                `/v1/projects/${web}/clusters/busy/node-pools`,
                { name: 'more', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
              ],
              ['DELETE', `/v1/projects/${web}/clusters/busy/node-pools/workers-2`, undefined],
              ['DELETE', `/v1/projects/${web}/clusters/busy`, undefined],
            ] as const;
            for (const [method, path, body] of attempts) {
              const response = await paddock.request(method, path, body);
              assert.equal(response.status, 409, `${method} ${path}: ${JSON.stringify(response.body)}`);
              assert.equal(response.body.code, 'OPERATION_IN_PROGRESS');
              assert.equal(response.body.clusterId, created.body.cluster.id);
            }
            assert.equal(await countIn('operations', web), opsBefore);
            // The refused requests changed nothing: no pool named "more", every pool as created.
            const during = await paddock.request('GET', `/v1/projects/${web}/clusters/busy`);
            assert.deepEqual(
              during.body.nodePools.map((p: { name: string; quantity: number; state: string }) => [
                p.name,
                p.quantity,
                p.state,
              ]),
              [
                ['control', 1, 'provisioning'],
                ['workers-1', 1, 'provisioning'],
                ['workers-2', 1, 'provisioning'],
              ],
            );

            assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
            const scaled = await paddock.request(
              'PATCH',
              `/v1/projects/${web}/clusters/busy/node-pools/workers-1`,
              { quantity: 3 },
            );
            assert.equal(scaled.status, 202);
            assert.equal((await paddock.waitForOperation(scaled.body.id)).state, 'succeeded');
          });
        });

        describe('node pools', () => {
          let clusterId = '';
          const clusterPath = `/v1/projects/${web}/clusters/pools`;
          const remotePoolsOf = async () => remotePools(fast[kind], kind, await rancherIdOf(clusterId));
          const remoteNodesOf = async () => remoteNodes(fast[kind], kind, await rancherIdOf(clusterId));
          const poolRow = async (name: string) =>
            (
              await paddock.db.query<{ rancher_id: string; state: string; quantity: number }>(
                `select rancher_id, state, quantity from node_pools where cluster_id = $1 and name = $2 order by created_at desc limit 1`,
                [clusterId, name],
              )
            ).rows[0];

          before(async () => {
            const body = await createActive(web, clusterBody('pools', { region }));
            clusterId = body.cluster.id;
          });

          it(`adds a pool: 202 operation that makes it on the backend (${profile.addPoolWrites('…').join(' + ')})`, async () => {
            const sim = fast[kind];
            await sim.clearCalls();
            const response = await paddock.request('POST', `${clusterPath}/node-pools`, {
              name: 'extra',
              roles: ['worker'],
              quantity: 2,
              flavor: 'm1.large',
            });
            assert.equal(response.status, 202, JSON.stringify(response.body));
            assert.equal(response.headers.get('location'), `/v1/operations/${response.body.id}`);
            assert.deepEqual(Object.keys(response.body).sort(), OPERATION_KEYS);
            assert.equal(response.body.type, 'add-node-pool');
            assert.equal(response.body.nodePool, 'extra');
            assert.deepEqual(
              response.body.steps.map((s: { name: string }) => s.name),
              profile.addPoolSteps('extra'),
            );
            assert.equal((await paddock.waitForOperation(response.body.id)).state, 'succeeded');
            const row = await poolRow('extra');
            const remote = (await remotePoolsOf()).find((p) => p.id === row.rancher_id);
            assert.equal(remote?.quantity, 2);
            await waitFor(
              '2 active nodes in extra',
              async () =>
                (await remoteNodesOf()).filter((n) => n.poolId === row.rancher_id && n.state === 'active')
                  .length === 2,
            );
            const calls = await sim.calls();
            assert.deepEqual(successfulWrites(calls), profile.addPoolWrites(await rancherIdOf(clusterId)));
            assert.deepEqual(unexpectedFailures(kind, calls), []);
            const cluster = await waitFor('extra synced', async () => {
              const body = (await paddock.request('GET', clusterPath)).body;
              const pool = body.nodePools.find((p: { name: string }) => p.name === 'extra');
              return pool?.readyNodes === 2 ? body : undefined;
            });
            assert.deepEqual(
              cluster.nodePools.map((p: { name: string }) => p.name),
              ['control', 'workers', 'extra'],
            );
            assert.equal(cluster.state, 'active');
          });

          it('scales a pool up and down: PATCH {quantity} → 202, and the backend follows', async () => {
            for (const quantity of [4, 1]) {
              const response = await paddock.request('PATCH', `${clusterPath}/node-pools/workers`, {
                quantity,
              });
              assert.equal(response.status, 202, JSON.stringify(response.body));
              assert.equal(response.headers.get('location'), `/v1/operations/${response.body.id}`);
              assert.equal(response.body.type, 'scale-node-pool');
              assert.equal(response.body.nodePool, 'workers');
              assert.deepEqual(
                response.body.steps.map((s: { name: string }) => s.name),
                ['scale-node-pool:workers', 'await-active'],
              );
              assert.equal((await paddock.waitForOperation(response.body.id)).state, 'succeeded');
              const row = await poolRow('workers');
              assert.equal(row.quantity, quantity);
              assert.equal((await remotePoolsOf()).find((p) => p.id === row.rancher_id)?.quantity, quantity);
              await waitFor(`${quantity} nodes in workers`, async () => {
                const nodes = (await remoteNodesOf()).filter((n) => n.poolId === row.rancher_id);
                return nodes.length === quantity && nodes.every((n) => n.state === 'active');
              });
              await waitFor(`workers synced at ${quantity}`, async () => {
                const body = (await paddock.request('GET', clusterPath)).body;
                const pool = body.nodePools.find((p: { name: string }) => p.name === 'workers');
                return (
                  pool.quantity === quantity &&
                  pool.observedQuantity === quantity &&
                  pool.readyNodes === quantity
                );
              });
            }
          });

          it('deletes a pool: 202 operation, gone from the backend and from the cluster', async () => {
            const row = await poolRow('extra');
            const response = await paddock.request('DELETE', `${clusterPath}/node-pools/extra`);
            assert.equal(response.status, 202, JSON.stringify(response.body));
            assert.equal(response.body.type, 'delete-node-pool');
            assert.deepEqual(
              response.body.steps.map((s: { name: string }) => s.name),
              profile.deletePoolSteps('extra'),
            );
            assert.equal((await paddock.waitForOperation(response.body.id)).state, 'succeeded');
            if (kind === 'rke1')
              assert.equal((await fast.rke1.rancher('GET', `/v3/nodepools/${row.rancher_id}`)).status, 404);
            assert.deepEqual((await remotePoolsOf()).map((p) => p.id).includes(row.rancher_id), false);
            const cluster = (await paddock.request('GET', clusterPath)).body;
            assert.deepEqual(
              cluster.nodePools.map((p: { name: string }) => p.name),
              ['control', 'workers'],
            );
            assert.equal(
              (await paddock.request('PATCH', `${clusterPath}/node-pools/extra`, { quantity: 1 })).status,
              404,
            );
            await waitFor('extra nodes gone', async () =>
              (await remoteNodesOf()).every((n) => n.poolId !== row.rancher_id),
            );
            // rke2: the pool's machine config went with it.
            await assertNoOrphans(paddock, [fast[kind]], { timeoutMs: 10_000 });
          });

          it('refuses to delete the pool that holds the only worker (or etcd) role', async () => {
            const opsBefore = await countIn('operations', web);
            await fast[kind].clearCalls();
            for (const pool of ['workers', 'control']) {
              const response = await paddock.request('DELETE', `${clusterPath}/node-pools/${pool}`);
              assert.equal(response.status, 409);
              assert.equal(response.body.code, 'CLUSTER_WOULD_LOSE_ROLE');
              assert.equal(
                response.body.detail,
                `removing pool '${pool}' would leave the cluster without a required role`,
              );
            }
            assert.equal(await countIn('operations', web), opsBefore);
            assert.deepEqual(successfulWrites(await fast[kind].calls()), []);
            assert.equal((await remotePoolsOf()).length, 2);
          });
        });

        describe('names and deletion', () => {
          it('refuses a duplicate name in a project, allows it in another, and frees it after delete', async () => {
            const sim = fast[kind];
            const first = await createActive(web, clusterBody('dup', { region }));
            const countBefore = await countIn('clusters', web);
            const again = await paddock.request(
              'POST',
              `/v1/projects/${web}/clusters`,
              clusterBody('dup', { region }),
            );
            assert.equal(again.status, 409);
            assert.equal(again.body.code, 'CLUSTER_EXISTS');
            assert.equal(again.body.detail, `project '${web}' already has a cluster named 'dup'`);
            assert.equal(await countIn('clusters', web), countBefore);

            const elsewhere = await paddock.request(
              'POST',
              `/v1/projects/${other}/clusters`,
              clusterBody('dup', { region }),
            );
            assert.equal(elsewhere.status, 202);
            assert.notEqual(elsewhere.body.cluster.id, first.cluster.id);

            const rancherId = await rancherIdOf(first.cluster.id);
            const deleted = await paddock.request('DELETE', `/v1/projects/${web}/clusters/dup`);
            assert.equal(deleted.status, 202);
            assert.equal(deleted.headers.get('location'), `/v1/operations/${deleted.body.id}`);
            assert.equal(deleted.body.type, 'delete-cluster');
            assert.deepEqual(
              deleted.body.steps.map((s: { name: string }) => s.name),
              profile.deleteSteps,
            );
            assert.equal(
              (await paddock.request('GET', `/v1/projects/${web}/clusters/dup`)).body.state,
              'deleting',
            );
            assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
            const gone = await paddock.request('GET', `/v1/projects/${web}/clusters/dup`);
            assert.equal(gone.status, 200);
            assert.equal(gone.body.state, 'deleted');
            assert.equal(gone.body.id, first.cluster.id);
            assert.equal((await remoteCluster(sim, kind, rancherId)).status, 404);
            assert.deepEqual(await remotePools(sim, kind, rancherId), []);
            // Deleting again is a 404: there is no live cluster of that name.
            assert.equal((await paddock.request('DELETE', `/v1/projects/${web}/clusters/dup`)).status, 404);

            const reused = await paddock.request(
              'POST',
              `/v1/projects/${web}/clusters`,
              clusterBody('dup', { region }),
            );
            assert.equal(reused.status, 202, JSON.stringify(reused.body));
            assert.notEqual(reused.body.cluster.id, first.cluster.id);
            assert.equal(
              (await paddock.request('GET', `/v1/projects/${web}/clusters/dup`)).body.id,
              reused.body.cluster.id,
            );
            assert.equal((await paddock.waitForOperation(reused.body.operation.id)).state, 'succeeded');
            await paddock.waitForOperation(elsewhere.body.operation.id);
          });

          it('leaves the simulator with no cluster once every cluster of a backend is deleted', async () => {
            const sim = fast[kind];
            const { rows } = await paddock.db.query<{ name: string; project: string }>(
              `select c.name, p.name as project from clusters c join projects p on p.id = c.project_id
               join backends b on b.id = c.backend_id where b.name = $1 and c.state not in ('deleted', 'failed')`,
              [profile.fast.name],
            );
            assert.ok(rows.length > 0);
            for (const { name, project } of rows) {
              await waitFor(
                `${name} idle`,
                async () =>
                  (await paddock.request('GET', `/v1/projects/${project}/clusters/${name}`)).body
                    .activeOperationId === null,
              );
            }
            const ops = [];
            for (const { name, project } of rows) {
              const response = await paddock.request('DELETE', `/v1/projects/${project}/clusters/${name}`);
              assert.equal(response.status, 202, JSON.stringify(response.body));
              ops.push(response.body.id as string);
            }
            for (const id of ops) assert.equal((await paddock.waitForOperation(id)).state, 'succeeded');
            for (const { name, project } of rows) {
              assert.equal(
                (await paddock.request('GET', `/v1/projects/${project}/clusters/${name}`)).body.state,
                'deleted',
              );
            }
            assert.deepEqual(await remoteClusters(sim, kind), []);
            assert.deepEqual(await remotePools(sim, kind), []);
            await waitFor(
              `${profile.fast.name} nodes gone`,
              async () => (await remoteNodes(sim, kind)).length === 0,
            );
            if (kind === 'rke2') {
              // Rancher removes each management twin after its provisioning cluster, and Paddock the
              // machine configs after the cluster.
              await waitFor(
                'the c-m- twins gone',
                async () => (await sim.rancher('GET', '/v3/clusters')).body.data.length === 0,
              );
              assert.deepEqual((await sim.rancher('GET', MACHINE_CONFIGS)).body.data, []);
            }
          });
        });
      });
    }
  });

  describe('list (across both kinds: creates without a region are spread over sim-a and sim-b)', () => {
    it('pages with a cursor without duplicates or gaps, and filters by state', async () => {
      const names = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e'];
      const ops: string[] = [];
      for (const name of [...names].reverse()) {
        const created = await paddock.request('POST', '/v1/projects/pager/clusters', clusterBody(name));
        assert.equal(created.status, 202);
        ops.push(created.body.operation.id);
      }
      const { rows: placed } = await paddock.db.query(
        `select b.kind, count(*)::int as n from clusters c join backends b on b.id = c.backend_id
         join projects p on p.id = c.project_id where p.name = 'pager' group by b.kind order by b.kind`,
      );
      assert.deepEqual(placed, [
        { kind: 'rke1', n: 3 },
        { kind: 'rke2', n: 2 },
      ]);
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const page: {
          status: number;
          body: { items: Array<{ name: string; project: string }>; nextCursor: string | null };
        } = await paddock.request(
          'GET',
          `/v1/projects/pager/clusters?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        assert.equal(page.status, 200);
        assert.deepEqual(Object.keys(page.body).sort(), ['items', 'nextCursor']);
        sizes.push(page.body.items.length);
        for (const item of page.body.items) {
          assert.equal(item.project, 'pager');
          assert.deepEqual(Object.keys(item).sort(), CLUSTER_KEYS);
        }
        seen.push(...page.body.items.map((c) => c.name));
        cursor = page.body.nextCursor;
      } while (cursor);
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(seen, names);

      // A page boundary that lands exactly on the end has no next cursor.
      const exact = await paddock.request('GET', '/v1/projects/pager/clusters?limit=5');
      assert.equal(exact.body.items.length, 5);
      assert.equal(exact.body.nextCursor, null);

      // Another project's clusters never show up.
      const web = await paddock.request('GET', '/v1/projects/web/clusters?limit=500');
      assert.ok(web.body.items.every((c: { project: string }) => c.project === 'web'));
      assert.ok(!web.body.items.some((c: { name: string }) => names.includes(c.name)));

      const provisioning = await paddock.request('GET', '/v1/projects/pager/clusters?state=provisioning');
      assert.equal(provisioning.status, 200);
      assert.ok(provisioning.body.items.every((c: { state: string }) => c.state === 'provisioning'));

      for (const id of ops) assert.equal((await paddock.waitForOperation(id)).state, 'succeeded');
      const deleted = await paddock.request('DELETE', '/v1/projects/pager/clusters/p-c');
      assert.equal(deleted.status, 202);
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');

      const active = await paddock.request('GET', '/v1/projects/pager/clusters?state=active');
      assert.deepEqual(
        active.body.items.map((c: { name: string }) => c.name),
        ['p-a', 'p-b', 'p-d', 'p-e'],
      );
      const gone = await paddock.request('GET', '/v1/projects/pager/clusters?state=deleted');
      assert.deepEqual(
        gone.body.items.map((c: { name: string; state: string }) => [c.name, c.state]),
        [['p-c', 'deleted']],
      );
      assert.deepEqual(
        (await paddock.request('GET', '/v1/projects/pager/clusters?state=provisioning')).body.items,
        [],
      );
      // Filter and cursor together.
      const first = await paddock.request('GET', '/v1/projects/pager/clusters?state=active&limit=3');
      assert.deepEqual(
        first.body.items.map((c: { name: string }) => c.name),
        ['p-a', 'p-b', 'p-d'],
      );
      const rest = await paddock.request(
        'GET',
        `/v1/projects/pager/clusters?state=active&limit=3&cursor=${first.body.nextCursor}`,
      );
      assert.deepEqual(
        rest.body.items.map((c: { name: string }) => c.name),
        ['p-e'],
      );
      assert.equal(rest.body.nextCursor, null);
    });
  });
});
