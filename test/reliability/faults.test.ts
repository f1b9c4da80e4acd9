/**
 * Faults at every step of create, scale, pool delete and cluster delete, of every kind — a 5xx
 * (retried), a timeout longer than the client's (retried, no duplicate), drop-after-apply (the
 * change is made, the answer lost: found by look-up or repeated harmlessly) — plus permanent
 * refusals that end compensated, a compensation that itself meets faults, and a permission window
 * longer than the deadline (rke1 only) and nodes that never become active (DEADLINE_EXCEEDED,
 * compensated, no orphan), and requests that land after the client gave up on them. Every case
 * but the permission window runs on both backend kinds.
 *
 * Table-driven: every case has its own simulator, pinned by region, and the cases run side by
 * side against one Paddock; THE CHECKS run over all of them at the end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoOrphans, findOrphans } from '../support/invariants';
import { startPaddock, TestPaddock } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingSystem, count, createOn } from '../support/reliability';
import { remoteClusters, remoteMachineConfigs, remotePools } from '../support/remote';
import type { FaultSpec } from '../support/simulator';

const PROJECT = 'faults';
/**
 * Not what these cases test (the deadline cases below have their own Paddock): an upper bound
 * only, so generous that sixteen cases at once on a loaded machine never meet it. A passing case
 * ends as soon as its operation does.
 */
const DEADLINE_MS = 180_000;
/** The client's per-attempt timeout in these tests (PADDOCK_RANCHER_TIMEOUT_MS). */
const CLIENT_TIMEOUT_MS = 1_000;
const LATE_MS = CLIENT_TIMEOUT_MS + 500;
/** Later than the client's timeout and the runner's first backoff together. */
const LATE_LANDING_MS = CLIENT_TIMEOUT_MS + 1_500;

type Phase = 'create' | 'scale' | 'delete-pool' | 'delete';
type Kind = '5xx' | 'timeout' | 'drop' | 'stale';
interface Step {
  phase: Phase;
  step: string;
  method: string;
  path: string;
}

/** The Rancher call each step makes, by phase (rke1 backends: norman /v3). */
const STEPS: Step[] = [
  { phase: 'create', step: 'create-cluster look-up', method: 'GET', path: '^/v3/clusters$' },
  { phase: 'create', step: 'create-cluster', method: 'POST', path: '^/v3/clusters$' },
  { phase: 'create', step: 'await-roles', method: 'GET', path: '^/v3/clusters/[^/]+$' },
  { phase: 'create', step: 'create-node-pool look-up', method: 'GET', path: '^/v3/nodepools$' },
  { phase: 'create', step: 'create-node-pool', method: 'POST', path: '^/v3/nodepools$' },
  { phase: 'create', step: 'await-active (sync of nodes)', method: 'GET', path: '^/v3/nodes$' },
  { phase: 'scale', step: 'scale-node-pool', method: 'PUT', path: '^/v3/nodepools/[^/]+$' },
  { phase: 'scale', step: 'await-active (sync of pools)', method: 'GET', path: '^/v3/nodepools$' },
  { phase: 'delete-pool', step: 'delete-node-pool', method: 'DELETE', path: '^/v3/nodepools/[^/]+$' },
  { phase: 'delete-pool', step: 'await-node-pool-deleted', method: 'GET', path: '^/v3/nodepools/[^/]+$' },
  { phase: 'delete', step: 'delete-cluster', method: 'DELETE', path: '^/v3/clusters/[^/]+$' },
  { phase: 'delete', step: 'await-cluster-deleted', method: 'GET', path: '^/v3/clusters/[^/]+$' },
];

const V1_CLUSTER = '^/v1/provisioning\\.cattle\\.io\\.clusters/fleet-default/[^/]+$';
const V1_CONFIGS = '^/v1/rke-machine-config\\.cattle\\.io\\.openstackconfigs';
/** The same for rke2 backends (steve /v1 on a simulated Rancher 2.12). */
const RKE2_STEPS: Step[] = [
  {
    phase: 'create',
    step: 'create-machine-config look-up',
    method: 'GET',
    path: `${V1_CONFIGS}/fleet-default$`,
  },
  { phase: 'create', step: 'create-machine-config', method: 'POST', path: `${V1_CONFIGS}$` },
  { phase: 'create', step: 'create-cluster look-up', method: 'GET', path: V1_CLUSTER },
  {
    phase: 'create',
    step: 'create-cluster',
    method: 'POST',
    path: '^/v1/provisioning\\.cattle\\.io\\.clusters$',
  },
  {
    phase: 'create',
    step: 'await-active (sync of machines)',
    method: 'GET',
    path: '^/v1/cluster\\.x-k8s\\.io\\.machines/fleet-default$',
  },
  { phase: 'scale', step: 'scale-node-pool', method: 'PUT', path: V1_CLUSTER },
  { phase: 'scale', step: 'scale-node-pool read', method: 'GET', path: V1_CLUSTER },
  { phase: 'delete-pool', step: 'delete-node-pool', method: 'PUT', path: V1_CLUSTER },
  {
    phase: 'delete-pool',
    step: 'delete-machine-configs',
    method: 'DELETE',
    path: `${V1_CONFIGS}/fleet-default/[^/]+$`,
  },
  { phase: 'delete', step: 'delete-cluster', method: 'DELETE', path: V1_CLUSTER },
  { phase: 'delete', step: 'await-cluster-deleted', method: 'GET', path: V1_CLUSTER },
];

const KINDS: Record<Kind, Omit<FaultSpec, 'method' | 'path'>> = {
  '5xx': { status: 503, times: 2 },
  timeout: { delayMs: LATE_MS, times: 1 },
  drop: { dropResponse: true, times: 1 },
  // A write with a resourceVersion someone else's write made stale (only for /v1 updates).
  stale: {
    status: 409,
    code: 'Conflict',
    message:
      'Operation cannot be fulfilled on clusters.provisioning.cattle.io "x": the object has been modified; please apply your changes to the latest version and try again',
    times: 1,
  },
};

/** Three pools, so removing `extra` keeps every role. */
const POOLS = [
  { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
  { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
  { name: 'extra', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
];

const MACHINE_CONFIGS = '/v1/rke-machine-config.cattle.io.openstackconfigs';

/** What differs between the backend kinds in these cases. */
const BACKEND_KINDS = {
  rke1: {
    prefix: 'f',
    options: {},
    steps: STEPS,
    clusterPost: /^\/v3\/clusters$/,
    poolPost: /^\/v3\/nodepools$/,
    poolStep: 'create-node-pool',
    clustersPath: '/v3/clusters',
    compensated: {
      /** Norman's 422 (its code follows from the status). */
      refusal: { status: 422 },
      refused: {
        // The first pool's POST: the cluster was made before it.
        create: { step: 'create-node-pool', method: 'POST', path: '^/v3/nodepools$' },
        scale: { step: 'scale-node-pool', method: 'PUT', path: '^/v3/nodepools/' },
        addPool: { step: 'create-node-pool', method: 'POST', path: '^/v3/nodepools$' },
      },
      /** What a compensated create deletes: the cluster, which takes its pools along. */
      undo: { method: 'DELETE', path: '^/v3/clusters/', made: 1, what: 'the Rancher cluster' },
    },
  },
  rke2: {
    prefix: 'f2',
    options: { version: 'v2.12.3' },
    steps: RKE2_STEPS,
    clusterPost: /^\/v1\/provisioning\.cattle\.io\.clusters$/,
    poolPost: /^\/v1\/rke-machine-config\.cattle\.io\.openstackconfigs$/,
    poolStep: 'create-machine-config',
    clustersPath: '/v1/provisioning.cattle.io.clusters',
    compensated: {
      /** Steve's envelope for an admission webhook's denial: `{type: "error", status, code, message}`. */
      refusal: {
        status: 422,
        code: 'Invalid',
        message:
          'admission webhook "rancher.cattle.io.clusters.provisioning.cattle.io" denied the request: spec.rkeConfig.machinePools: Invalid value: simulated refusal',
      },
      refused: {
        // The cluster POST: the pools' machine configs were made before it.
        create: {
          step: 'create-cluster',
          method: 'POST',
          path: '^/v1/provisioning\\.cattle\\.io\\.clusters$',
        },
        // Scaling, and adding a pool (after its machine config), are each a write of the cluster.
        scale: { step: 'scale-node-pool', method: 'PUT', path: V1_CLUSTER },
        addPool: { step: 'create-node-pool', method: 'PUT', path: V1_CLUSTER },
      },
      /** What a compensated create deletes: no cluster was made, so the pools' machine configs. */
      undo: {
        method: 'DELETE',
        path: `${V1_CONFIGS}/fleet-default/[^/]+$`,
        made: POOLS.length,
        what: 'the machine configs',
      },
    },
  },
} as const;

/** rke2: the live machine configs are exactly those the machine pools name; returns their names. */
async function assertConfigsInUse(b: CaseBackend): Promise<string[]> {
  const configs = (await remoteMachineConfigs(b.sim)).map((c) => c.name).sort();
  const inUse = (await b.sim.rancher('GET', BACKEND_KINDS.rke2.clustersPath)).body.data
    .flatMap((c: any) => c.spec.rkeConfig.machinePools.map((p: any) => p.machineConfigRef.name))
    .sort();
  assert.deepEqual(
    configs,
    inUse,
    `machine configs ${JSON.stringify(configs)}, in use ${JSON.stringify(inUse)}`,
  );
  return configs;
}

/**
 * No orphan, and nothing at all left on the case's simulator: no cluster, no pool and (rke2) no
 * machine config, not even one being removed.
 */
async function assertNothingLeft(paddock: TestPaddock, b: CaseBackend): Promise<void> {
  await assertNoOrphans(paddock, [b.sim], { timeoutMs: 15_000 });
  assert.deepEqual(await remoteClusters(b.sim, b.kind), [], 'no cluster left on the simulator');
  assert.deepEqual(await remotePools(b.sim, b.kind), [], 'no pool left on the simulator');
  if (b.kind === 'rke2')
    assert.deepEqual(
      (await b.sim.rancher('GET', MACHINE_CONFIGS)).body.data.map((c: any) => c.id),
      [],
      'no machine config left on the simulator',
    );
}

interface Outcome {
  name: string;
  ms: number;
  retriedCalls: number;
}

describe('reliability: faults at every step', { concurrency: 16 }, () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  const outcomes: Outcome[] = [];
  const started = Date.now();

  before(async () => {
    paddock = await startPaddock({
      env: {
        PADDOCK_OPERATION_DEADLINE_MS: String(DEADLINE_MS),
        PADDOCK_RANCHER_TIMEOUT_MS: String(CLIENT_TIMEOUT_MS),
        // Many backends at once: a slower sync keeps the machine's two cores for the cases.
        PADDOCK_SYNC_PERIOD_MS: '700',
      },
    });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    assert.equal(
      (
        await paddock.request('PUT', `/v1/admin/projects/${PROJECT}/quota`, {
          clusters: 1_000,
          nodes: 10_000,
        })
      ).status,
      200,
    );
  });

  after(async () => {
    await closeCheckingSystem(paddock, backends, { label: 'faults' });
    console.log(
      `[faults] ${outcomes.length} retried cases passed, all cases done in ${Date.now() - started} ms; slowest ${JSON.stringify(
        [...outcomes].sort((a, b) => b.ms - a.ms).slice(0, 3),
      )}`,
    );
  });

  async function backend(name: string, options = {}) {
    const b = await addBackend(paddock, name, options);
    backends.push(b);
    return b;
  }

  const path = (name: string, project = PROJECT) => `/v1/projects/${project}/clusters/${name}`;

  async function expectOperation(id: string, state: 'succeeded' | 'failed', what: string) {
    const op = await paddock.waitForOperation(id, DEADLINE_MS + 20_000);
    assert.equal(op.state, state, `${what}: ${JSON.stringify(op.error)} ${JSON.stringify(op.steps)}`);
    return op;
  }

  /** Creates `name` (with `fault` armed during the create when given) and waits for it. */
  async function createCluster(b: CaseBackend, name: string, fault?: FaultSpec, project = PROJECT) {
    if (fault) await b.sim.faults.add(fault);
    const { operation, cluster } = await createOn(paddock, project, b, name, { nodePools: POOLS });
    await expectOperation(operation.id, 'succeeded', `create ${name}`);
    return cluster;
  }

  // ---- retried: every step × every fault, on both backend kinds --------------------------------
  for (const [backendKind, profile] of Object.entries(BACKEND_KINDS)) {
    for (const s of profile.steps) {
      for (const kind of Object.keys(KINDS) as Kind[]) {
        // A stale resourceVersion exists only where writes carry one: the /v1 updates.
        if (kind === 'stale' && !(s.method === 'PUT' && s.path.startsWith('^/v1/'))) continue;
        const name = `${profile.prefix}-${s.phase}-${s.step.replace(/[^a-z]+/g, '-')}-${kind}`.replace(
          /-+/g,
          '-',
        );
        it(`${backendKind} ${s.phase}: ${s.step} (${s.method} ${s.path}) ${kind} → retried`, async () => {
          const t0 = Date.now();
          const b = await backend(name, profile.options);
          const fault: FaultSpec = { method: s.method, path: s.path, ...KINDS[kind] };
          await createCluster(b, name, s.phase === 'create' ? fault : undefined);
          const cluster = name;
          if (s.phase === 'scale') {
            await b.sim.faults.add(fault);
            const scaled = await paddock.request('PATCH', `${path(cluster)}/node-pools/workers`, {
              quantity: 3,
            });
            assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
            await expectOperation(scaled.body.id, 'succeeded', 'scale');
            const pool = (await remotePools(b.sim, b.kind)).find(
              (p) => p.labels['paddock.dev/pool-id'] && p.quantity === 3,
            );
            assert.ok(pool, 'the Rancher pool was scaled to 3');
          }
          if (s.phase === 'delete-pool') {
            await b.sim.faults.add(fault);
            const removed = await paddock.request('DELETE', `${path(cluster)}/node-pools/extra`);
            assert.equal(removed.status, 202, JSON.stringify(removed.body));
            await expectOperation(removed.body.id, 'succeeded', 'delete pool');
            assert.equal((await remotePools(b.sim, b.kind)).filter((p) => p.state !== 'removing').length, 2);
          }
          if (s.phase === 'delete') {
            await b.sim.faults.add(fault);
            const deleted = await paddock.request('DELETE', path(cluster));
            assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
            await expectOperation(deleted.body.id, 'succeeded', 'delete');
            assert.equal(
              (await b.sim.rancher('GET', profile.clustersPath)).body.data.length,
              0,
              'the cluster is gone',
            );
          }
          assert.deepEqual(await b.sim.faults.list(), [], 'the fault was used up');
          const calls = await b.sim.calls();
          // One POST per object whatever the fault (a drop is found by look-up; a late request by NotUnique / the stray sweep).
          assert.equal(count(calls, 'POST', profile.clusterPost, 201), 1, 'one Rancher cluster created');
          if (s.phase === 'create' && kind !== 'timeout')
            assert.equal(
              count(calls, 'POST', profile.poolPost, 201),
              POOLS.length,
              'one Rancher pool (rke2: machine config) per pool',
            );
          if (s.phase === 'create' && kind === 'drop' && s.method === 'POST') {
            // The dropped create was applied: the retry's look-up finds it instead of sending it again.
            const created = ['create-node-pool', 'create-machine-config'].includes(s.step) ? POOLS.length : 1;
            assert.equal(count(calls, 'POST', new RegExp(s.path)), created, 'no second POST after a drop');
          }
          if (kind === '5xx')
            assert.equal(count(calls, s.method, new RegExp(s.path), 503), 2, 'both 5xx answers were retried');
          if (kind === 'stale')
            assert.equal(
              count(calls, 'PUT', new RegExp(s.path), 409),
              1,
              'the stale write was re-read and redone',
            );
          await assertNoOrphans(paddock, [b.sim], { timeoutMs: 15_000 });
          outcomes.push({
            name: cluster,
            ms: Date.now() - t0,
            retriedCalls: calls.filter((c) => c.status >= 500 || c.dropped).length,
          });
        });
      }
    }
  }

  // ---- requests that land late: after the client gave up on them, on both backend kinds -------
  // Each one lands LATE_LANDING_MS after it was sent, later than the client's timeout plus the
  // first backoff, so the retry has usually run by then; whichever of the two reaches Rancher
  // second meets the first one's object. Either way Paddock ends with one of each.
  /** Creates `name` with its first `path` request landing late; returns the simulator's calls. */
  async function createLanding(name: string, path: string, options = {}, delayMs = LATE_LANDING_MS) {
    const b = await backend(name, options);
    await createCluster(b, name, { method: 'POST', path, delayMs, times: 1 });
    await assertNoOrphans(paddock, [b.sim], { timeoutMs: 15_000 });
    return { b, calls: await b.sim.calls() };
  }

  for (const [backendKind, profile] of Object.entries(BACKEND_KINDS)) {
    // rke1 names are made unique by Rancher, so the loser is refused NotUnique or found by the
    // retry's look-up; rke2 names are Paddock's own, so the loser is refused 409 AlreadyExists.
    it(`${backendKind} create-cluster: a timed-out request that lands around the retry → one cluster (the loser refused or found by look-up)`, async () => {
      const { b, calls } = await createLanding(
        `${profile.prefix}-late-cluster`,
        profile.clusterPost.source,
        profile.options,
      );
      assert.equal(count(calls, 'POST', profile.clusterPost, 201), 1, 'one Rancher cluster created');
      assert.equal((await remoteClusters(b.sim, b.kind)).length, 1);
    });

    // Neither pool names on rke1 nor machine-config names on rke2 (`generateName`) are unique, so a
    // timed-out create that lands after the retry's look-up leaves a second object with the same
    // labels; the stray copy is removed (rke1: by await-active's last look).
    it(`${backendKind} ${profile.poolStep}: a timed-out request that lands after the retry → the duplicate is removed`, async () => {
      const { b, calls } = await createLanding(
        `${profile.prefix}-late-pool`,
        profile.poolPost.source,
        profile.options,
      );
      assert.ok(count(calls, 'POST', profile.poolPost, 201) >= POOLS.length);
      assert.equal(
        (await remotePools(b.sim, b.kind)).filter((p) => p.state !== 'removing').length,
        POOLS.length,
        'one Rancher pool per pool once the stray copy is gone',
      );
      // rke2: one machine config per pool, and it is the one its machine pool uses.
      if (b.kind === 'rke2') await assertConfigsInUse(b);
    });
  }

  // rke2 makes the pools' machine configs before the cluster, so a config can also land after the
  // cluster was made from the retry's copy: here it lands 15 s late (the retry and the cluster
  // POST come after a few seconds, even on a loaded machine), with nodes slow enough (30 s) that
  // the create is still waiting for them then. The copy no machine pool uses is removed all the same.
  it('rke2 create-machine-config: a timed-out request that lands after the cluster was made → the stray config is removed', async () => {
    const rke2 = BACKEND_KINDS.rke2;
    const late = 15_000;
    const { b, calls } = await createLanding(
      'f2-late-config-after-cluster',
      rke2.poolPost.source,
      { ...rke2.options, timings: { nodeProvisionMs: 30_000 } },
      late,
    );
    const configPosts = calls.filter((c) => c.method === 'POST' && rke2.poolPost.test(c.path));
    const clusterPost = calls.find((c) => c.method === 'POST' && rke2.clusterPost.test(c.path));
    // Calls are logged as they arrive: the first config POST is the one that landed late.
    assert.ok(
      Date.parse(configPosts[0].at) + late > Date.parse(clusterPost!.at),
      'the late config landed after the cluster was made (what this case is about)',
    );
    assert.equal(count(calls, 'POST', rke2.poolPost, 201), POOLS.length + 1, 'the late copy was made');
    await assertConfigsInUse(b);
  });

  // Adding a pool makes its machine config first too: a config create that times out and lands
  // after the retry made another leaves a copy that no machine pool uses; it is removed as well.
  it('rke2 add-node-pool: a timed-out machine-config POST that lands after the retry → one config per pool', async () => {
    const rke2 = BACKEND_KINDS.rke2;
    const name = 'f2-late-config-add-pool';
    const b = await backend(name, rke2.options);
    await createCluster(b, name);
    await b.sim.faults.add({
      method: 'POST',
      path: rke2.poolPost.source,
      delayMs: LATE_LANDING_MS,
      times: 1,
    });
    const added = await paddock.request('POST', `${path(name)}/node-pools`, {
      name: 'more',
      roles: ['worker'],
      quantity: 1,
      flavor: 'm1.large',
    });
    assert.equal(added.status, 202, JSON.stringify(added.body));
    await expectOperation(added.body.id, 'succeeded', 'add pool');
    await assertNoOrphans(paddock, [b.sim], { timeoutMs: 15_000 });
    assert.equal((await assertConfigsInUse(b)).length, POOLS.length + 1, 'one machine config per pool');
  });

  // What the orphan check above relies on to see a stray config: a second live machine config for a
  // live pool is reported, and so is a pool whose one live config is not the one its machine pool
  // names. Both are made here behind Paddock's back; the cluster's delete then removes them all.
  it('rke2 orphan check: a second machine config for a live pool, and one its machine pool does not name, are reported', async () => {
    const name = 'f2-orphan-check';
    const b = await backend(name, BACKEND_KINDS.rke2.options);
    const cluster = await createCluster(b, name);
    const poolId = (
      await paddock.db.query(`SELECT id FROM node_pools WHERE cluster_id = $1 AND name = 'workers'`, [
        cluster.id,
      ])
    ).rows[0].id;
    const original = (await b.sim.rancher('GET', MACHINE_CONFIGS)).body.data.find(
      (c: any) => c.metadata.labels['paddock.dev/pool-id'] === poolId,
    );
    const { id: _id, links: _links, metadata, ...fields } = original;
    const copy = await b.sim.rancher('POST', MACHINE_CONFIGS, {
      ...fields,
      metadata: { generateName: 'nc-copy-', namespace: metadata.namespace, labels: metadata.labels },
    });
    assert.equal(copy.status, 201, JSON.stringify(copy.body));
    const problems = await findOrphans(paddock, [b.sim]);
    assert.ok(
      problems.some((p) => p.includes(poolId) && p.includes('has 2 live machine configs')),
      problems.join('\n'),
    );
    assert.equal(
      (await b.sim.rancher('DELETE', `${MACHINE_CONFIGS}/${original.id}`)).status < 300,
      true,
      'the original config deleted',
    );
    const after = await findOrphans(paddock, [b.sim]);
    assert.ok(
      after.some((p) =>
        p.includes(
          `uses machine config ${metadata.name}, but the pool's live config is ${copy.body.metadata.name}`,
        ),
      ),
      after.join('\n'),
    );
    const deleted = await paddock.request('DELETE', path(name));
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    await expectOperation(deleted.body.id, 'succeeded', 'delete');
    await assertNothingLeft(paddock, b);
  });

  // ---- compensated: permanent refusals, on both backend kinds ---------------------------------
  /** A project of the case's own, so that its quota can be asserted exactly. */
  async function ownProject(name: string) {
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
    const limits = { clusters: 10, nodes: 100 };
    assert.equal((await paddock.request('PUT', `/v1/admin/projects/${name}/quota`, limits)).status, 200);
    return name;
  }

  /** [used, reserved] of the project's clusters and nodes. */
  async function quotaOf(project: string) {
    const quota = (await paddock.request('GET', `/v1/admin/projects/${project}/quota`)).body;
    return {
      clusters: [quota.clusters.used, quota.clusters.reserved],
      nodes: [quota.nodes.used, quota.nodes.reserved],
    };
  }

  for (const [backendKind, profile] of Object.entries(BACKEND_KINDS)) {
    const { refused, undo, refusal } = profile.compensated;
    /** The refusal, armed once: a retry would be let through, and the operation would succeed. */
    const refuse = (target: { method: string; path: string }): FaultSpec => ({
      ...target,
      ...refusal,
      times: 1,
    });

    /** Creates `name` with `refused.create` refused, asserts it ends compensated, returns the calls. */
    async function createRefused(name: string, undoFaults: FaultSpec[] = []) {
      const project = await ownProject(name);
      const b = await backend(name, profile.options);
      await b.sim.faults.add(refuse(refused.create));
      for (const fault of undoFaults) await b.sim.faults.add(fault);
      const { operation, cluster } = await createOn(paddock, project, b, name, { nodePools: POOLS });
      const op = await expectOperation(operation.id, 'failed', name);
      assert.equal(op.error.code, 'BACKEND_REJECTED', JSON.stringify(op.error));
      assert.equal(
        (await paddock.db.query(`SELECT state FROM clusters WHERE id = $1`, [cluster.id])).rows[0].state,
        'failed',
      );
      const calls = await b.sim.calls();
      assert.equal(
        count(calls, refused.create.method, new RegExp(refused.create.path), 422),
        1,
        'a permanent refusal is not retried',
      );
      assert.ok(
        count(calls, undo.method, new RegExp(undo.path), 200) +
          count(calls, undo.method, new RegExp(undo.path), 204) >=
          undo.made,
        `the compensation deleted ${undo.what}`,
      );
      await b.sim.faults.clear();
      await assertNothingLeft(paddock, b);
      assert.deepEqual(await quotaOf(project), { clusters: [0, 0], nodes: [0, 0] }, 'quota released');
      return calls;
    }

    it(`${backendKind} create: permanent 422 on ${refused.create.step} → compensated (BACKEND_REJECTED), nothing left, quota released`, async () => {
      await createRefused(`${profile.prefix}-comp-create-422`);
    });

    it(`${backendKind} create: permanent 422 on ${refused.create.step} and the compensation meets 5xx and a drop → still compensated`, async () => {
      const calls = await createRefused(`${profile.prefix}-comp-faulty-undo`, [
        { method: undo.method, path: undo.path, status: 500, times: 2 },
        { method: undo.method, path: undo.path, dropResponse: true, times: 1 },
      ]);
      const undoes = calls.filter((c) => c.method === undo.method && new RegExp(undo.path).test(c.path));
      assert.equal(undoes.filter((c) => c.status === 500).length, 2, 'the compensation met both 5xx');
      assert.equal(undoes.filter((c) => c.dropped).length, 1, 'the compensation met the drop');
    });

    /**
     * Makes `name` in a project of its own, then asks for `change` with `target` refused once:
     * the operation fails BACKEND_REJECTED and the refusal is not retried.
     */
    async function changeRefused(
      name: string,
      target: { method: string; path: string },
      change: (clusterPath: string) => Promise<{ status: number; body: any }>,
    ) {
      const project = await ownProject(name);
      const b = await backend(name, profile.options);
      await createCluster(b, name, undefined, project);
      await b.sim.faults.add(refuse(target));
      const accepted = await change(path(name, project));
      assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      const op = await expectOperation(accepted.body.id, 'failed', name);
      assert.equal(op.error.code, 'BACKEND_REJECTED', JSON.stringify(op.error));
      const calls = await b.sim.calls();
      assert.equal(
        count(calls, target.method, new RegExp(target.path), 422),
        1,
        'a permanent refusal is not retried',
      );
      await b.sim.faults.clear();
      return { b, project, calls };
    }

    it(`${backendKind} scale: permanent 422 on scale-node-pool (${refused.scale.method}) → compensated, quantity and reservation restored`, async () => {
      const name = `${profile.prefix}-comp-scale-422`;
      const { b, project } = await changeRefused(name, refused.scale, (cluster) =>
        paddock.request('PATCH', `${cluster}/node-pools/workers`, { quantity: 4 }),
      );
      const cluster = (await paddock.request('GET', path(name, project))).body;
      assert.equal(cluster.nodePools.find((p: { name: string }) => p.name === 'workers').quantity, 1);
      const remote = await remotePools(b.sim, b.kind);
      assert.equal(remote.length, POOLS.length);
      assert.ok(
        remote.every((p) => p.quantity === 1),
        `remote quantities ${JSON.stringify(remote)}`,
      );
      assert.deepEqual(
        await quotaOf(project),
        { clusters: [1, 0], nodes: [POOLS.length, 0] },
        'reservation dropped',
      );
      await assertNoOrphans(paddock, [b.sim]);
    });

    it(`${backendKind} add-node-pool: permanent 422 on ${refused.addPool.step} (${refused.addPool.method}) → compensated, nothing left`, async () => {
      const name = `${profile.prefix}-comp-addpool-422`;
      const { b, project, calls } = await changeRefused(name, refused.addPool, (cluster) =>
        paddock.request('POST', `${cluster}/node-pools`, {
          name: 'more',
          roles: ['worker'],
          quantity: 2,
          flavor: 'm1.large',
        }),
      );
      assert.equal((await remotePools(b.sim, b.kind)).length, POOLS.length);
      if (b.kind === 'rke2') {
        // The new pool's machine config was made before the refused write: the compensation removed it.
        assert.ok(count(calls, 'DELETE', new RegExp(undo.path)) >= 1, 'the new machine config was deleted');
        assert.equal((await assertConfigsInUse(b)).length, POOLS.length, 'one machine config per pool');
      }
      assert.deepEqual(
        await quotaOf(project),
        { clusters: [1, 0], nodes: [POOLS.length, 0] },
        'reservation dropped',
      );
      await assertNoOrphans(paddock, [b.sim]);
    });
  }
});

describe('reliability: steps that outlast the deadline', () => {
  const WINDOW_MS = 6_000;
  const DEADLINE = 3_000;
  let paddock: TestPaddock;
  const cases: CaseBackend[] = [];

  before(async () => {
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: String(DEADLINE) } });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'window' })).status, 201);
  });

  after(() => closeCheckingSystem(paddock, cases, { label: 'deadline' }));

  // rke1 only: the pool creates are refused (403) until Rancher has set up the new cluster's roles.
  // rke2 has no such window: its cluster object carries its pools, so no pool create comes after
  // the cluster for Rancher to refuse (the driver's acceptsNodePools). The next case runs on both.
  it(`rke1 permission window ${WINDOW_MS} ms, deadline ${DEADLINE} ms → DEADLINE_EXCEEDED, compensated, no orphan`, async () => {
    const t0 = Date.now();
    const b = await addBackend(paddock, 'window', { timings: { permissionWindowMs: WINDOW_MS } });
    cases.push(b);
    const { operation, cluster } = await createOn(paddock, 'window', b, 'slow-roles');
    const op = await paddock.waitForOperation(operation.id, 30_000);
    assert.equal(op.state, 'failed');
    assert.equal(op.error.code, 'DEADLINE_EXCEEDED');
    assert.equal(op.steps.find((s: { name: string }) => s.name === 'await-roles').state, 'failed');
    assert.ok(
      op.steps.every(
        (s: { name: string; state: string }) =>
          !s.name.startsWith('create-node-pool') || s.state === 'pending',
      ),
      'no pool was attempted',
    );
    const row = await paddock.db.query(`SELECT state FROM clusters WHERE id = $1`, [cluster.id]);
    assert.equal(row.rows[0].state, 'failed');
    const calls = await b.sim.calls();
    assert.equal(count(calls, 'POST', /^\/v3\/clusters$/, 201), 1);
    assert.ok(
      count(calls, 'DELETE', /^\/v3\/clusters\//) >= 1,
      'the compensation deleted the Rancher cluster',
    );
    await assertNoOrphans(paddock, [b.sim], { timeoutMs: 15_000 });
    assert.equal(
      (await b.sim.rancher('GET', '/v3/clusters')).body.data.length,
      0,
      'no orphan cluster on the simulator',
    );
    const quota = (await paddock.request('GET', '/v1/admin/projects/window/quota')).body;
    assert.deepEqual([quota.clusters.used, quota.clusters.reserved, quota.nodes.reserved], [0, 0, 0]);
    console.log(
      `[faults window] create failed with DEADLINE_EXCEEDED and was compensated in ${Date.now() - t0} ms`,
    );
  });

  for (const [backendKind, profile] of Object.entries(BACKEND_KINDS)) {
    it(`${backendKind} nodes that never become active, deadline ${DEADLINE} ms → DEADLINE_EXCEEDED at await-active, compensated`, async () => {
      const name = `${profile.prefix}-never-active`;
      const b = await addBackend(paddock, name, {
        ...profile.options,
        timings: { nodeProvisionMs: 600_000 },
      });
      cases.push(b);
      const { operation, cluster } = await createOn(paddock, 'window', b, name);
      const op = await paddock.waitForOperation(operation.id, 30_000);
      assert.equal(op.state, 'failed');
      assert.equal(op.error.code, 'DEADLINE_EXCEEDED', JSON.stringify(op.error));
      assert.equal(
        op.steps.find((s: { name: string }) => s.name === 'await-active').state,
        'failed',
        JSON.stringify(op.steps),
      );
      const row = await paddock.db.query(`SELECT state FROM clusters WHERE id = $1`, [cluster.id]);
      assert.equal(row.rows[0].state, 'failed');
      await assertNothingLeft(paddock, b);
    });
  }
});
