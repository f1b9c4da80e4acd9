/**
 * The cluster API end to end against three simulators: the exact Rancher calls a create makes,
 * the shapes of every answer, pagination, kubeconfig, nodes, node-pool changes, conflicts and
 * placement across backends.
 *
 * Backends: `sim-a` (region r1) and `sim-b` (region r2) are fast and offer m1.large; `sim-slow`
 * (region r3) offers only s1.slow and its nodes never finish provisioning, for operations that
 * must stay in flight. Tests that count calls pin their cluster to sim-a with `region: 'r1'`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

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

describe('clusters API', () => {
  let paddock: TestPaddock;
  let simA: TestSimulator;
  let simB: TestSimulator;
  let slow: TestSimulator;

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

  /** Creates a cluster and waits for its operation to succeed; returns the 202 body. */
  async function createActive(project: string, body: Record<string, unknown>) {
    const created = await paddock.request('POST', `/v1/projects/${project}/clusters`, body);
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const op = await paddock.waitForOperation(created.body.operation.id);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    return created.body;
  }

  before(async () => {
    [simA, simB, slow] = await Promise.all([
      startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] }),
      startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] }),
      startTestSimulator({ nodeTemplates: [{ name: 's1.slow' }], timings: { nodeProvisionMs: 600_000 } }),
    ]);
    paddock = await startPaddock();
    assert.equal((await paddock.registerBackend('sim-a', simA, { region: 'r1' })).status, 201);
    assert.equal((await paddock.registerBackend('sim-b', simB, { region: 'r2' })).status, 201);
    assert.equal((await paddock.registerBackend('sim-slow', slow, { region: 'r3' })).status, 201);
    for (const name of ['web', 'other', 'pager']) {
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    }
  });

  after(async () => {
    await paddock?.close();
    await Promise.all([simA?.close(), simB?.close(), slow?.close()]);
  });

  describe('placement across backends', () => {
    it('puts two creates on different backends (fewest clusters first)', async () => {
      const first = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('place-1'));
      const second = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody('place-2'));
      assert.equal(first.status, 202);
      assert.equal(second.status, 202);
      // Empty backends tie; the name breaks the tie, then sim-a holds one more than sim-b.
      assert.equal(await backendOf(first.body.cluster.id), 'sim-a');
      assert.equal(await backendOf(second.body.cluster.id), 'sim-b');
      await paddock.waitForOperation(first.body.operation.id);
      await paddock.waitForOperation(second.body.operation.id);
      assert.equal(
        (await simA.rancher('GET', `/v3/clusters/${await rancherIdOf(first.body.cluster.id)}`)).status,
        200,
      );
      assert.equal(
        (await simB.rancher('GET', `/v3/clusters/${await rancherIdOf(second.body.cluster.id)}`)).status,
        200,
      );
    });

    it('places nothing on a draining backend', async () => {
      const drained = await paddock.request('PATCH', '/v1/admin/backends/sim-a', { state: 'draining' });
      assert.equal(drained.status, 200);
      assert.equal(drained.body.state, 'draining');
      try {
        const ids: string[] = [];
        for (const name of ['drain-1', 'drain-2', 'drain-3']) {
          const created = await paddock.request('POST', '/v1/projects/web/clusters', clusterBody(name));
          assert.equal(created.status, 202);
          ids.push(created.body.cluster.id);
        }
        for (const id of ids) assert.equal(await backendOf(id), 'sim-b');
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
        });
      } finally {
        await paddock.request('PATCH', '/v1/admin/backends/sim-slow', {
          capacity: { maxClusters: 1000, maxNodes: 100000 },
        });
      }
    });
  });

  describe('create', () => {
    for (const p of [1, 2, 3]) {
      it(`makes exactly one POST /v3/clusters and ${p} POST /v3/nodepools for ${p} pool(s)`, async () => {
        await simA.clearCalls();
        const body = await createActive('web', { name: `calls-${p}`, region: 'r1', nodePools: pools(p) });
        const calls = await simA.calls();
        const writes = calls
          .filter((c) => c.method !== 'GET')
          .map((c) => `${c.method} ${c.path.replace(/\/(c-|p-)[\w-:]+$/, '/$1…')} ${c.status}`);
        const gets = calls.filter((c) => c.method === 'GET');
        const getPaths: Record<string, number> = {};
        for (const c of gets) getPaths[c.path] = (getPaths[c.path] ?? 0) + 1;
        // The status sync lists clusters, pools and nodes once per cycle while the create runs, so
        // the worker's own GETs are the excess over the node-list count (only the sync lists nodes).
        const cycles = getPaths['/v3/nodes'] ?? 0;
        const byId = gets.filter((c) => /^\/v3\/clusters\/c-/.test(c.path)).length;
        const workerGets =
          (getPaths['/v3/clusters'] ?? 0) - cycles + (getPaths['/v3/nodepools'] ?? 0) - cycles + byId;
        console.log(
          `Rancher calls per create with P=${p}: writes=${JSON.stringify(writes)} GETs=${gets.length} ${JSON.stringify(getPaths)}; ` +
            `sync cycles≈${cycles}, worker GETs≈${workerGets} (cluster look-up ${(getPaths['/v3/clusters'] ?? 0) - cycles}, ` +
            `GET cluster by id ${byId}, pool look-ups ${(getPaths['/v3/nodepools'] ?? 0) - cycles})`,
        );
        const successfulWrites = calls.filter((c) => c.method !== 'GET' && c.status < 300);
        assert.deepEqual(
          successfulWrites.map((c) => `${c.method} ${c.path}`),
          ['POST /v3/clusters', ...Array.from({ length: p }, () => 'POST /v3/nodepools')],
        );
        // The permission window is waited out (InitialRolesPopulated), not hammered with 403s.
        assert.deepEqual(
          calls.filter((c) => c.method !== 'GET' && c.status >= 300),
          [],
        );
        assert.equal(await backendOf(body.cluster.id), 'sim-a');
      });
    }

    it('answers 202 {cluster, operation} with Location and the planned steps', async () => {
      const started = Date.now();
      const response = await paddock.request('POST', '/v1/projects/web/clusters', {
        name: 'shape',
        region: 'r1',
        kubernetesVersion: 'v1.30.14',
        labels: { team: 'web', tier: 'prod' },
        nodePools: [
          { name: 'control', roles: ['controlplane', 'etcd'], quantity: 1, flavor: 'm1.large' },
          { name: 'workers', roles: ['worker'], quantity: 2, flavor: 'm1.large' },
        ],
      });
      const elapsed = Date.now() - started;
      assert.equal(response.status, 202);
      assert.ok(elapsed < 2000, `202 took ${elapsed} ms`);
      assert.deepEqual(Object.keys(response.body).sort(), ['cluster', 'operation']);
      const { cluster, operation } = response.body;
      assert.equal(response.headers.get('location'), `/v1/operations/${operation.id}`);
      assert.deepEqual(Object.keys(cluster).sort(), CLUSTER_KEYS);
      assert.match(cluster.id, UUID);
      assert.equal(cluster.name, 'shape');
      assert.equal(cluster.project, 'web');
      assert.equal(cluster.state, 'provisioning');
      assert.equal(cluster.kubernetesVersion, 'v1.30.14');
      assert.equal(cluster.region, 'r1');
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
      assert.equal(operation.project, 'web');
      assert.equal(operation.cluster, 'shape');
      assert.equal(operation.clusterId, cluster.id);
      assert.equal(operation.nodePool, null);
      assert.equal(operation.error, null);
      assert.equal(operation.finishedAt, null);
      assert.match(operation.deadlineAt, ISO);
      assert.deepEqual(
        operation.steps.map((s: { name: string }) => s.name),
        [
          'ensure-bucket',
          'create-cluster',
          'await-roles',
          'create-node-pool:control',
          'create-node-pool:workers',
          'await-active',
        ],
      );
      // Nothing past the Rancher create can have started yet: it needs Rancher's answers first.
      assert.deepEqual(
        operation.steps
          .slice(3)
          .map((s: Record<string, unknown>) => [s.state, s.attempts, s.startedAt, s.finishedAt, s.lastError]),
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
      // The version and labels reached Rancher.
      const remote = await simA.rancher('GET', `/v3/clusters/${await rancherIdOf(cluster.id)}`);
      assert.match(remote.body.rancherKubernetesEngineConfig?.kubernetesVersion ?? '', /^v1\.30\.14/);
    });

    it('serves the cluster as synced: pools with observed and ready nodes, conditions, statusUpdatedAt', async () => {
      const cluster = await waitFor('shape to be fully synced', async () => {
        const response = await paddock.request('GET', '/v1/projects/web/clusters/shape');
        const body = response.body;
        return body.state === 'active' &&
          body.nodeCount === 3 &&
          body.nodePools.every((p: { readyNodes: number; quantity: number }) => p.readyNodes === p.quantity)
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
        const response = await paddock.request('GET', '/v1/projects/web/clusters/shape/nodes');
        assert.equal(response.status, 200);
        return response.body.items.length === 3 &&
          response.body.items.every((n: { state: string }) => n.state === 'active')
          ? response.body
          : undefined;
      });
      assert.equal(nodes.nextCursor, null);
      const clusterId = (await paddock.request('GET', '/v1/projects/web/clusters/shape')).body.id as string;
      const remote = await simA.rancher('GET', `/v3/nodes?clusterId=${await rancherIdOf(clusterId)}`);
      const remoteHostnames = remote.body.data
        .map(
          (n: { hostname?: string; nodeName?: string; requestedHostname?: string }) =>
            n.hostname ?? n.requestedHostname ?? n.nodeName,
        )
        .sort();
      assert.deepEqual(nodes.items.map((n: { hostname: string }) => n.hostname).sort(), remoteHostnames);
      assert.deepEqual(nodes.items.map((n: { nodePool: string }) => n.nodePool).sort(), [
        'control',
        'workers',
        'workers',
      ]);
      const byPool = (pool: string) => nodes.items.filter((n: { nodePool: string }) => n.nodePool === pool);
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
      const page1 = await paddock.request('GET', '/v1/projects/web/clusters/shape/nodes?limit=2');
      assert.equal(page1.body.items.length, 2);
      assert.equal(typeof page1.body.nextCursor, 'string');
      const page2 = await paddock.request(
        'GET',
        `/v1/projects/web/clusters/shape/nodes?limit=2&cursor=${page1.body.nextCursor}`,
      );
      assert.equal(page2.body.items.length, 1);
      assert.equal(page2.body.nextCursor, null);
      assert.deepEqual(
        [...page1.body.items, ...page2.body.items].map((n: { id: string }) => n.id).sort(),
        nodes.items.map((n: { id: string }) => n.id).sort(),
      );
    });

    it('issues a kubeconfig for an active cluster', async () => {
      const response = await paddock.request('GET', '/v1/projects/web/clusters/shape/kubeconfig');
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/yaml/);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(typeof response.body, 'string');
      assert.match(response.body, /^kind: Config$/m);
      // Paddock's own proxy for the cluster, never the backend's (test/e2e/kube-access.test.ts).
      assert.match(response.body, /server: "?https?:\/\/[^\s"]*\/k8s\/clusters\/[0-9a-f-]{36}"?/);
      assert.match(response.body, /token: "?pdk_kc_/);
      assert.ok(!response.body.includes(simA.token), 'the backend token is not in the kubeconfig');
    });
  });

  describe('operations', () => {
    it('long-polls: returns as soon as the operation finishes', async () => {
      const created = await paddock.request(
        'POST',
        '/v1/projects/web/clusters',
        clusterBody('poll-fast', { region: 'r1' }),
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
        '/v1/projects/web/clusters',
        clusterBody('poll-slow', {
          nodePools: [
            { name: 'all', roles: ['etcd', 'controlplane', 'worker'], quantity: 1, flavor: 's1.slow' },
          ],
        }),
      );
      assert.equal(created.status, 202);
      assert.equal(await backendOf(created.body.cluster.id), 'sim-slow');
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
      assert.equal((await paddock.request('GET', `/v1/operations/${created.body.operation.id}`)).status, 200);
      assert.ok(Date.now() - quick < 500);
    });

    it('refuses a kubeconfig while the cluster is still provisioning', async () => {
      const response = await paddock.request('GET', '/v1/projects/web/clusters/poll-slow/kubeconfig');
      assert.equal(response.status, 409);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(response.body.code, 'CLUSTER_NOT_READY');
      assert.equal(
        response.body.detail,
        "cluster 'poll-slow' is provisioning; a kubeconfig is available once it is active",
      );
    });

    it('refuses a second mutating request while an operation is in flight, and accepts it after', async () => {
      const created = await paddock.request('POST', '/v1/projects/web/clusters', {
        name: 'busy',
        region: 'r1',
        nodePools: pools(3),
      });
      assert.equal(created.status, 202);
      const opsBefore = (await paddock.db.query('select count(*)::int as n from operations')).rows[0].n;
      const attempts = [
        ['PATCH', '/v1/projects/web/clusters/busy/node-pools/workers-1', { quantity: 3 }],
        [
          'POST',
          '/v1/projects/web/clusters/busy/node-pools',
          { name: 'more', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
        ],
        ['DELETE', '/v1/projects/web/clusters/busy/node-pools/workers-2', undefined],
        ['DELETE', '/v1/projects/web/clusters/busy', undefined],
      ] as const;
      for (const [method, path, body] of attempts) {
        const response = await paddock.request(method, path, body);
        assert.equal(response.status, 409, `${method} ${path}: ${JSON.stringify(response.body)}`);
        assert.equal(response.body.code, 'OPERATION_IN_PROGRESS');
        assert.equal(response.body.clusterId, created.body.cluster.id);
      }
      assert.equal(
        (await paddock.db.query('select count(*)::int as n from operations')).rows[0].n,
        opsBefore,
      );
      // The refused requests changed nothing: no pool named "more", every pool as created.
      const during = await paddock.request('GET', '/v1/projects/web/clusters/busy');
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
      const scaled = await paddock.request('PATCH', '/v1/projects/web/clusters/busy/node-pools/workers-1', {
        quantity: 3,
      });
      assert.equal(scaled.status, 202);
      assert.equal((await paddock.waitForOperation(scaled.body.id)).state, 'succeeded');
    });
  });

  describe('node pools', () => {
    let clusterId = '';
    const remotePools = async () => {
      const response = await simA.rancher('GET', `/v3/nodepools?clusterId=${await rancherIdOf(clusterId)}`);
      return response.body.data as Array<{
        id: string;
        hostnamePrefix: string;
        quantity: number;
        state: string;
      }>;
    };
    const remoteNodes = async () => {
      const response = await simA.rancher('GET', `/v3/nodes?clusterId=${await rancherIdOf(clusterId)}`);
      return response.body.data as Array<{ nodePoolId: string; state: string }>;
    };
    const poolRow = async (name: string) =>
      (
        await paddock.db.query<{ rancher_id: string; state: string; quantity: number }>(
          `select rancher_id, state, quantity from node_pools where cluster_id = $1 and name = $2 order by created_at desc limit 1`,
          [clusterId, name],
        )
      ).rows[0];

    before(async () => {
      const body = await createActive('web', clusterBody('pools', { region: 'r1' }));
      clusterId = body.cluster.id;
    });

    it('adds a pool: 202 operation that creates it on the backend', async () => {
      await simA.clearCalls();
      const response = await paddock.request('POST', '/v1/projects/web/clusters/pools/node-pools', {
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
        ['create-node-pool:extra', 'await-active'],
      );
      assert.equal((await paddock.waitForOperation(response.body.id)).state, 'succeeded');
      const row = await poolRow('extra');
      const remote = (await remotePools()).find((p) => p.id === row.rancher_id);
      assert.equal(remote?.quantity, 2);
      await waitFor(
        '2 active nodes in extra',
        async () =>
          (await remoteNodes()).filter((n) => n.nodePoolId === row.rancher_id && n.state === 'active')
            .length === 2,
      );
      const writes = (await simA.calls())
        .filter((c) => c.method !== 'GET')
        .map((c) => `${c.method} ${c.path} ${c.status}`);
      assert.deepEqual(writes, ['POST /v3/nodepools 201']);
      const cluster = await waitFor('extra synced', async () => {
        const body = (await paddock.request('GET', '/v1/projects/web/clusters/pools')).body;
        const pool = body.nodePools.find((p: { name: string }) => p.name === 'extra');
        return pool?.readyNodes === 2 ? body : undefined;
      });
      assert.deepEqual(
        cluster.nodePools.map((p: { name: string }) => p.name),
        ['control', 'workers', 'extra'],
      );
      assert.equal(cluster.state, 'active');
    });

    it('refuses a pool name that is already taken', async () => {
      const response = await paddock.request('POST', '/v1/projects/web/clusters/pools/node-pools', {
        name: 'extra',
        roles: ['worker'],
        quantity: 1,
        flavor: 'm1.large',
      });
      assert.equal(response.status, 409);
      assert.equal(response.body.code, 'NODE_POOL_EXISTS');
    });

    it('scales a pool up and down: PATCH {quantity} → 202, and the backend follows', async () => {
      for (const quantity of [4, 1]) {
        const response = await paddock.request(
          'PATCH',
          '/v1/projects/web/clusters/pools/node-pools/workers',
          { quantity },
        );
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
        assert.equal((await remotePools()).find((p) => p.id === row.rancher_id)?.quantity, quantity);
        await waitFor(`${quantity} nodes in workers`, async () => {
          const nodes = (await remoteNodes()).filter((n) => n.nodePoolId === row.rancher_id);
          return nodes.length === quantity && nodes.every((n) => n.state === 'active');
        });
        await waitFor(`workers synced at ${quantity}`, async () => {
          const body = (await paddock.request('GET', '/v1/projects/web/clusters/pools')).body;
          const pool = body.nodePools.find((p: { name: string }) => p.name === 'workers');
          return (
            pool.quantity === quantity && pool.observedQuantity === quantity && pool.readyNodes === quantity
          );
        });
      }
    });

    it('deletes a pool: 202 operation, gone from the backend and from the cluster', async () => {
      const row = await poolRow('extra');
      const response = await paddock.request('DELETE', '/v1/projects/web/clusters/pools/node-pools/extra');
      assert.equal(response.status, 202, JSON.stringify(response.body));
      assert.equal(response.body.type, 'delete-node-pool');
      assert.deepEqual(
        response.body.steps.map((s: { name: string }) => s.name),
        ['delete-node-pool:extra', 'await-node-pool-deleted:extra'],
      );
      assert.equal((await paddock.waitForOperation(response.body.id)).state, 'succeeded');
      assert.equal((await simA.rancher('GET', `/v3/nodepools/${row.rancher_id}`)).status, 404);
      assert.deepEqual((await remotePools()).map((p) => p.id).includes(row.rancher_id), false);
      const cluster = (await paddock.request('GET', '/v1/projects/web/clusters/pools')).body;
      assert.deepEqual(
        cluster.nodePools.map((p: { name: string }) => p.name),
        ['control', 'workers'],
      );
      assert.equal(
        (await paddock.request('PATCH', '/v1/projects/web/clusters/pools/node-pools/extra', { quantity: 1 }))
          .status,
        404,
      );
      await waitFor('extra nodes gone', async () =>
        (await remoteNodes()).every((n) => n.nodePoolId !== row.rancher_id),
      );
    });

    it('refuses to delete the pool that holds the only worker (or etcd) role', async () => {
      const opsBefore = (await paddock.db.query('select count(*)::int as n from operations')).rows[0].n;
      for (const pool of ['workers', 'control']) {
        const response = await paddock.request(
          'DELETE',
          `/v1/projects/web/clusters/pools/node-pools/${pool}`,
        );
        assert.equal(response.status, 409);
        assert.equal(response.body.code, 'CLUSTER_WOULD_LOSE_ROLE');
        assert.equal(
          response.body.detail,
          `removing pool '${pool}' would leave the cluster without a required role`,
        );
      }
      assert.equal(
        (await paddock.db.query('select count(*)::int as n from operations')).rows[0].n,
        opsBefore,
      );
      assert.equal((await remotePools()).length, 2);
    });
  });

  describe('names and deletion', () => {
    it('refuses a duplicate name in a project, allows it in another, and frees it after delete', async () => {
      const first = await createActive('web', clusterBody('dup', { region: 'r1' }));
      const countBefore = (await paddock.db.query('select count(*)::int as n from clusters')).rows[0].n;
      const again = await paddock.request(
        'POST',
        '/v1/projects/web/clusters',
        clusterBody('dup', { region: 'r1' }),
      );
      assert.equal(again.status, 409);
      assert.equal(again.body.code, 'CLUSTER_EXISTS');
      assert.equal(again.body.detail, "project 'web' already has a cluster named 'dup'");
      assert.equal(
        (await paddock.db.query('select count(*)::int as n from clusters')).rows[0].n,
        countBefore,
      );

      const elsewhere = await paddock.request(
        'POST',
        '/v1/projects/other/clusters',
        clusterBody('dup', { region: 'r1' }),
      );
      assert.equal(elsewhere.status, 202);
      assert.notEqual(elsewhere.body.cluster.id, first.cluster.id);

      const rancherId = await rancherIdOf(first.cluster.id);
      const deleted = await paddock.request('DELETE', '/v1/projects/web/clusters/dup');
      assert.equal(deleted.status, 202);
      assert.equal(deleted.headers.get('location'), `/v1/operations/${deleted.body.id}`);
      assert.equal(deleted.body.type, 'delete-cluster');
      assert.deepEqual(
        deleted.body.steps.map((s: { name: string }) => s.name),
        ['delete-cluster', 'await-cluster-deleted', 'remove-bucket'],
      );
      assert.equal((await paddock.request('GET', '/v1/projects/web/clusters/dup')).body.state, 'deleting');
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
      const gone = await paddock.request('GET', '/v1/projects/web/clusters/dup');
      assert.equal(gone.status, 200);
      assert.equal(gone.body.state, 'deleted');
      assert.equal(gone.body.id, first.cluster.id);
      assert.equal((await simA.rancher('GET', `/v3/clusters/${rancherId}`)).status, 404);
      assert.equal((await simA.rancher('GET', `/v3/nodepools?clusterId=${rancherId}`)).body.data.length, 0);
      // Deleting again is a 404: there is no live cluster of that name.
      assert.equal((await paddock.request('DELETE', '/v1/projects/web/clusters/dup')).status, 404);

      const reused = await paddock.request(
        'POST',
        '/v1/projects/web/clusters',
        clusterBody('dup', { region: 'r1' }),
      );
      assert.equal(reused.status, 202, JSON.stringify(reused.body));
      assert.notEqual(reused.body.cluster.id, first.cluster.id);
      assert.equal(
        (await paddock.request('GET', '/v1/projects/web/clusters/dup')).body.id,
        reused.body.cluster.id,
      );
      assert.equal((await paddock.waitForOperation(reused.body.operation.id)).state, 'succeeded');
      await paddock.waitForOperation(elsewhere.body.operation.id);
    });

    it('leaves the simulator with no cluster once every cluster of a backend is deleted', async () => {
      const { rows } = await paddock.db.query<{ name: string; project: string }>(
        `select c.name, p.name as project from clusters c join projects p on p.id = c.project_id
         join backends b on b.id = c.backend_id where b.name = 'sim-b' and c.state not in ('deleted', 'failed')`,
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
      assert.deepEqual((await simB.rancher('GET', '/v3/clusters')).body.data, []);
      assert.deepEqual((await simB.rancher('GET', '/v3/nodepools')).body.data, []);
      await waitFor(
        'sim-b nodes gone',
        async () => (await simB.rancher('GET', '/v3/nodes')).body.data.length === 0,
      );
    });
  });

  describe('list', () => {
    it('pages with a cursor without duplicates or gaps, and filters by state', async () => {
      const names = ['p-a', 'p-b', 'p-c', 'p-d', 'p-e'];
      const ops: string[] = [];
      for (const name of [...names].reverse()) {
        const created = await paddock.request(
          'POST',
          '/v1/projects/pager/clusters',
          clusterBody(name, { region: 'r1' }),
        );
        assert.equal(created.status, 202);
        ops.push(created.body.operation.id);
      }
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
