/**
 * Cluster and node health, end to end: a condition set in the simulator (through its control
 * API, as a failing kubelet or control plane would set it) is mirrored into Postgres by the status
 * sync, shown by the node list and the cluster read, and exported on `/metrics` — and leaves again
 * when it recovers or the object is deleted. Node conditions on both backend kinds: rke1 reads them
 * from `/v3/nodes`, rke2 from Rancher's management Nodes joined to the CAPI machines. Provisioning
 * gauges and the operation metrics too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { alertExpressions, dashboardQueries, metricFamilies } from '../support/deploy';
import { addBackend, CaseBackend, closeCheckingInvariants, createOn } from '../support/reliability';
import { callsOf } from '../support/simulator';

const PROJECT = 'health';

interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition text as samples (label values here never hold quotes or commas). */
function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g))
      labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

describe('monitoring: conditions mirrored, shown and exported', { concurrency: true }, () => {
  let paddock: TestPaddock;
  let backend: CaseBackend;
  let slow: CaseBackend;
  /** An rke2 backend (simulated Rancher 2.12): nodes are CAPI machines. */
  let rke2: CaseBackend;
  const backendOf = (kind: 'rke1' | 'rke2') => (kind === 'rke1' ? backend : rke2);

  before(async () => {
    // A create that cannot finish is compensated after the deadline: long enough for the
    // provisioning case to watch its gauge grow, short enough to watch its series leave.
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: '45000' } });
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    backend = await addBackend(paddock, 'm-fast');
    // Nodes on this backend never finish provisioning within the test.
    slow = await addBackend(paddock, 'm-slow', { timings: { nodeProvisionMs: 10 * 60_000 } });
    rke2 = await addBackend(paddock, 'm-rke2', { version: 'v2.12.3' });
  });

  after(() => closeCheckingInvariants(paddock, [backend, slow, rke2]));

  const metrics = async () => parseMetrics((await paddock.request('GET', '/metrics')).body as string);
  const series = async (name: string, labels: Record<string, string>) =>
    (await metrics()).filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  /** Completed sync cycles of a backend, read from `/metrics` like everything else here. */
  const syncRuns = async (name: string) =>
    (await series('paddock_sync_runs_total', { backend: name, outcome: 'ok' }))[0]?.value ?? 0;
  /**
   * Waits until two more sync cycles of the backend have completed: at least one of them started
   * after the caller's change and listed it (counted in cycles, not in seconds).
   */
  const twoSyncCycles = async (name: string) => {
    const start = await syncRuns(name);
    await waitFor(`two sync cycles of ${name}`, async () => (await syncRuns(name)) >= start + 2);
  };

  async function activeCluster(name: string, on: CaseBackend = backend) {
    const { cluster, operation } = await createOn(paddock, PROJECT, on, name);
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    const row = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [cluster.id]);
    const nodes = await paddock.db.query(
      `SELECT n.rancher_id, n.hostname, p.name AS pool FROM nodes n
         JOIN node_pools p ON p.id = n.node_pool_id WHERE n.cluster_id = $1 ORDER BY n.hostname`,
      [cluster.id],
    );
    return {
      id: cluster.id,
      rancherId: row.rows[0].rancher_id as string,
      nodes: nodes.rows as Array<{ rancher_id: string; hostname: string; pool: string }>,
    };
  }

  /**
   * The id `/__sim/conditions` takes for a node's kubelet: the `/v3` node on rke1; on rke2 the
   * management Node Rancher made for the machine's Node (found, as the driver finds it, by CAPI's
   * `cluster.x-k8s.io/machine` annotation), which the sync reads the node's conditions from.
   */
  async function kubeletId(on: CaseBackend, node: { rancher_id: string }): Promise<string> {
    if (on.kind === 'rke1') return node.rancher_id;
    const machine = node.rancher_id.split('/')[1];
    const listed = (await on.sim.rancher('GET', '/v1/management.cattle.io.nodes')).body.data as Array<{
      id: string;
      status: { nodeAnnotations: Record<string, string> };
    }>;
    const found = listed.find((n) => n.status.nodeAnnotations['cluster.x-k8s.io/machine'] === machine);
    assert.ok(found, `a management Node for machine ${machine}`);
    return found.id;
  }

  const nodeList = async (cluster: string) => {
    const response = await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${cluster}/nodes`);
    assert.equal(response.status, 200);
    return response.body.items as Array<{
      hostname: string;
      conditions: Array<{ type: string; status: string; reason?: string }>;
    }>;
  };
  const clusterRead = async (cluster: string) => {
    const response = await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${cluster}`);
    assert.equal(response.status, 200);
    return response.body as { conditions: Array<{ type: string; status: string; message?: string }> };
  };

  /** Kubelet conditions Rancher's node syncer drops from its node objects (`cleanStatus`). */
  const DROPPED = ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable'];

  it("a healthy rke1 cluster: every node lists the kubelet's Ready beside Rancher's own conditions, and no health series exist", async () => {
    await activeCluster('m-healthy');
    const nodes = await waitFor('node conditions mirrored', async () => {
      const items = await nodeList('m-healthy');
      return items.length === 3 && items.every((n) => n.conditions.some((c) => c.type === 'Ready'))
        ? items
        : undefined;
    });
    for (const node of nodes) {
      const byType = new Map(node.conditions.map((c) => [c.type, c]));
      assert.deepEqual(
        [byType.get('Ready')?.status, byType.get('Ready')?.reason],
        ['True', 'KubeletReady'],
        node.hostname,
      );
      assert.equal(byType.get('Registered')?.status, 'True', "Rancher's own node conditions are kept too");
      assert.equal(byType.get('Provisioned')?.status, 'True');
      // Rancher's node syncer keeps only the kubelet's Ready on its node object (cleanStatus).
      assert.deepEqual(
        DROPPED.filter((type) => byType.has(type)),
        [],
        node.hostname,
      );
    }
    assert.deepEqual(await series('paddock_node_condition_not_true', { cluster: 'm-healthy' }), []);
    assert.deepEqual(await series('paddock_cluster_condition_not_true', { cluster: 'm-healthy' }), []);
  });

  it("a healthy rke2 cluster: every node lists its Node's Ready and Rancher's Registered beside CAPI's, and no health series exist", async () => {
    await activeCluster('m-healthy-rke2', rke2);
    const nodes = await waitFor('management Node conditions mirrored', async () => {
      const items = await nodeList('m-healthy-rke2');
      return items.length === 3 && items.every((n) => n.conditions.some((c) => c.type === 'Registered'))
        ? items
        : undefined;
    });
    for (const node of nodes) {
      const byType = new Map(node.conditions.map((c) => [c.type, c]));
      assert.deepEqual(
        [byType.get('Ready')?.status, byType.get('Ready')?.reason],
        ['True', 'KubeletReady'],
        `${node.hostname}: the kubelet's Ready, not CAPI's`,
      );
      assert.equal(byType.get('Registered')?.status, 'True');
      assert.equal(byType.get('NodeHealthy')?.status, 'True', "the machine's own conditions stay");
      // Rancher's node syncer keeps only the kubelet's Ready on its management Node (cleanStatus).
      assert.deepEqual(
        DROPPED.filter((type) => byType.has(type)),
        [],
        node.hostname,
      );
    }
    assert.deepEqual(await series('paddock_node_condition_not_true', { cluster: 'm-healthy-rke2' }), []);
    assert.deepEqual(await series('paddock_cluster_condition_not_true', { cluster: 'm-healthy-rke2' }), []);
  });

  for (const kind of ['rke1', 'rke2'] as const) {
    it(`${kind}: a node's Ready=False reaches Postgres, the node list and /metrics within two sync cycles, and leaves when it recovers`, async () => {
      const on = backendOf(kind);
      const name = `m-notready-${kind}`;
      const cluster = await activeCluster(name, on);
      const node = cluster.nodes[0];
      const id = await kubeletId(on, node);
      await on.sim.setCondition({
        type: 'node',
        id,
        condition: {
          type: 'Ready',
          status: 'False',
          reason: 'KubeletNotReady',
          message: 'PLEG is not healthy',
        },
      });
      await twoSyncCycles(on.name);
      const labels = { project: PROJECT, cluster: name, node: node.hostname, condition: 'Ready' };
      const [sample] = await series('paddock_node_condition_not_true', labels);
      assert.equal(sample?.value, 1, 'in /metrics within two sync cycles of the change');

      const row = await paddock.db.query(
        `SELECT conditions, unhealthy_conditions FROM nodes WHERE rancher_id = $1`,
        [node.rancher_id],
      );
      assert.deepEqual(row.rows[0].unhealthy_conditions, ['Ready']);
      const ready = row.rows[0].conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.deepEqual(
        [ready.status, ready.reason, ready.message],
        ['False', 'KubeletNotReady', 'PLEG is not healthy'],
      );
      const listed = (await nodeList(name)).find((n) => n.hostname === node.hostname)!;
      assert.equal(listed.conditions.find((c) => c.type === 'Ready')?.status, 'False');
      // The other nodes stay quiet: a series is one unhealthy condition of one node.
      assert.equal((await series('paddock_node_condition_not_true', { cluster: name })).length, 1);

      await on.sim.setCondition({
        type: 'node',
        id,
        condition: { type: 'Ready', status: 'True', reason: 'KubeletReady' },
      });
      await twoSyncCycles(on.name);
      assert.deepEqual(
        await series('paddock_node_condition_not_true', labels),
        [],
        'gone within two sync cycles',
      );
      assert.equal(
        (await nodeList(name))
          .find((n) => n.hostname === node.hostname)!
          .conditions.find((c) => c.type === 'Ready')?.status,
        'True',
      );
    });
  }

  for (const kind of ['rke1', 'rke2'] as const) {
    it(`${kind}: a not-ready node's series leaves when the node goes (replaced through Paddock)`, async () => {
      const on = backendOf(kind);
      const name = `m-replaced-${kind}`;
      const cluster = await activeCluster(name, on);
      const node = cluster.nodes.find((n) => n.pool === 'workers')!;
      await on.sim.setCondition({
        type: 'node',
        id: await kubeletId(on, node),
        condition: { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
      });
      const labels = { cluster: name, node: node.hostname, condition: 'Ready' };
      await waitFor('Ready series', async () =>
        (await series('paddock_node_condition_not_true', labels)).length === 1 ? true : undefined,
      );
      const removed = await paddock.request(
        'DELETE',
        `/v1/projects/${PROJECT}/clusters/${name}/nodes/${node.hostname}`,
      );
      assert.equal(removed.status, 202, JSON.stringify(removed.body));
      assert.equal((await paddock.waitForOperation(removed.body.id, 60_000)).state, 'succeeded');
      await waitFor('series gone with the node', async () =>
        (await series('paddock_node_condition_not_true', labels)).length === 0 ? true : undefined,
      );
      assert.deepEqual(await series('paddock_node_condition_not_true', { cluster: name }), []);
    });
  }

  it('rke2: node conditions cost one list per page of management Nodes per sync cycle, none per cluster', async () => {
    await activeCluster('m-calls-a', rke2);
    await activeCluster('m-calls-b', rke2);
    await rke2.sim.clearCalls();
    // Four cycles completed: at least three listed everything after the log was cleared.
    await twoSyncCycles(rke2.name);
    await twoSyncCycles(rke2.name);
    const calls = await rke2.sim.calls();
    // Both lists are read once per page each cycle (one page here): equal counts, whatever the
    // number of clusters (one apart when the log was cleared between a cycle's two lists), and
    // nothing read per cluster or per node.
    const machineLists = callsOf(calls, 'GET', /^\/v1\/cluster\.x-k8s\.io\.machines\/fleet-default$/).length;
    const nodeLists = callsOf(calls, 'GET', /^\/v1\/management\.cattle\.io\.nodes$/).length;
    assert.ok(machineLists >= 2, `at least two cycles listed the machines (${machineLists})`);
    assert.ok(
      Math.abs(nodeLists - machineLists) <= 1,
      `${nodeLists} node lists, ${machineLists} machine lists`,
    );
    assert.deepEqual(
      calls.filter((c) => /management\.cattle\.io\.nodes\/|\/k8s\/clusters\//.test(c.path)),
      [],
      'no read of one cluster’s nodes',
    );
  });

  for (const kind of ['rke1', 'rke2'] as const) {
    it(`${kind}: kubelet memory pressure is not in Rancher's node objects, so it makes no series while a not-ready node does; a deleted cluster leaves none`, async () => {
      const on = backendOf(kind);
      const name = `m-pressure-${kind}`;
      const cluster = await activeCluster(name, on);
      const [notReady, pressed] = cluster.nodes;
      await on.sim.setCondition({
        type: 'node',
        id: await kubeletId(on, pressed),
        condition: { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory' },
      });
      await on.sim.setCondition({
        type: 'node',
        id: await kubeletId(on, notReady),
        condition: { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
      });
      // The sync that shows the not-ready node read the pressed one in the same list.
      await waitFor('Ready series', async () =>
        (
          await series('paddock_node_condition_not_true', {
            cluster: name,
            node: notReady.hostname,
            condition: 'Ready',
          })
        ).length === 1
          ? true
          : undefined,
      );
      await twoSyncCycles(on.name);
      assert.deepEqual(
        (await series('paddock_node_condition_not_true', { cluster: name })).map((s) => [
          s.labels.node,
          s.labels.condition,
        ]),
        [[notReady.hostname, 'Ready']],
      );
      const listed = (await nodeList(name)).find((n) => n.hostname === pressed.hostname)!;
      const byType = new Map(listed.conditions.map((c) => [c.type, c.status]));
      assert.equal(byType.get('Ready'), 'True');
      assert.equal(byType.has('MemoryPressure'), false);

      const deleted = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/${name}`);
      assert.equal(deleted.status, 202);
      assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
      assert.deepEqual(await series('paddock_node_condition_not_true', { cluster: name }), []);
      assert.deepEqual(await series('paddock_cluster_condition_not_true', { cluster: name }), []);
    });
  }

  it('an unhealthy RKE1 component status becomes a cluster condition, in the read and /metrics', async () => {
    const cluster = await activeCluster('m-component');
    // The healthy component first: the sync cycle that sees the scheduler's failure (what the
    // wait below is for) then sees etcd-0 too.
    await backend.sim.setComponentStatus({ clusterId: cluster.rancherId, name: 'etcd-0', status: 'True' });
    await backend.sim.setComponentStatus({
      clusterId: cluster.rancherId,
      name: 'scheduler',
      status: 'False',
      error: 'Get "http://127.0.0.1:10251/healthz": dial tcp 127.0.0.1:10251: connect: connection refused',
    });
    const labels = { project: PROJECT, cluster: 'm-component', condition: 'ComponentHealthy/scheduler' };
    await waitFor('component series', async () =>
      (await series('paddock_cluster_condition_not_true', labels)).length === 1 ? true : undefined,
    );
    const conditions = (await clusterRead('m-component')).conditions;
    const scheduler = conditions.find((c) => c.type === 'ComponentHealthy/scheduler');
    assert.equal(scheduler?.status, 'False');
    assert.match(scheduler?.message ?? '', /connection refused/);
    assert.equal(conditions.find((c) => c.type === 'ComponentHealthy/etcd-0')?.status, 'True');
    assert.deepEqual(
      (await series('paddock_cluster_condition_not_true', { cluster: 'm-component' })).map(
        (s) => s.labels.condition,
      ),
      ['ComponentHealthy/scheduler'],
    );
  });

  it('a cluster stuck provisioning has a growing gauge, its nodes too; both leave when it is given up', async () => {
    const { operation } = await createOn(paddock, PROJECT, slow, 'm-stuck');
    const clusterGauge = async () =>
      (await series('paddock_cluster_provisioning_seconds', { project: PROJECT, cluster: 'm-stuck' }))[0]
        ?.value;
    const first = await waitFor('provisioning gauge', clusterGauge);
    await waitFor('provisioning gauge grows', async () => ((await clusterGauge()) ?? 0) > first);
    const nodes = await waitFor('node provisioning gauges', async () => {
      const found = await series('paddock_node_provisioning_seconds', { cluster: 'm-stuck' });
      return found.length === 3 ? found : undefined;
    });
    assert.deepEqual(
      nodes.map((s) => s.labels.node).sort(),
      (await nodeList('m-stuck')).map((n) => n.hostname).sort(),
      'labelled with the hostnames users see, never a Rancher id',
    );
    const [inFlight] = await series('paddock_operations_in_flight', { type: 'create-cluster' });
    assert.ok(inFlight.value >= 1, 'the stuck create is in flight');

    // The deadline compensates the create: the cluster is deleted and its series go with it.
    assert.equal((await paddock.waitForOperation(operation.id, 150_000)).state, 'failed');
    assert.deepEqual(await series('paddock_cluster_provisioning_seconds', { cluster: 'm-stuck' }), []);
    assert.deepEqual(await series('paddock_node_provisioning_seconds', { cluster: 'm-stuck' }), []);
    const failed = await series('paddock_operation_duration_seconds_count', {
      type: 'create-cluster',
      outcome: 'failed',
    });
    assert.equal(failed[0]?.value, 1);
  });

  it('an updating cluster has an updating gauge, which leaves when the update is done', async () => {
    const cluster = await activeCluster('m-updating');
    const pool = await paddock.db.query(
      `SELECT rancher_id FROM node_pools WHERE cluster_id = $1 AND name = 'workers'`,
      [cluster.id],
    );
    // The scale's write to the backend is held for 3 s: the cluster reads updating meanwhile.
    await backend.sim.faults.add({
      method: 'PUT',
      path: `^/v3/nodepools/${pool.rows[0].rancher_id}$`,
      delayMs: 3_000,
      times: 1,
    });
    const scaled = await paddock.request(
      'PATCH',
      `/v1/projects/${PROJECT}/clusters/m-updating/node-pools/workers`,
      {
        quantity: 3,
      },
    );
    assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
    const labels = { project: PROJECT, cluster: 'm-updating' };
    const [gauge] = await waitFor('updating gauge', async () => {
      const found = await series('paddock_cluster_updating_seconds', labels);
      return found.length === 1 ? found : undefined;
    });
    assert.ok(gauge.value >= 0 && gauge.value < 60, `seconds since the scale was accepted: ${gauge.value}`);
    assert.equal((await paddock.waitForOperation(scaled.body.id)).state, 'succeeded');
    await waitFor('updating gauge gone', async () =>
      (await series('paddock_cluster_updating_seconds', labels)).length === 0 ? true : undefined,
    );
  });

  it('finished operations are counted in the duration histogram, whose buckets are cumulative', async () => {
    await activeCluster('m-histogram');
    const succeededCreates = async () =>
      (
        await paddock.db.query(
          `SELECT count(*)::int AS n FROM operations WHERE type = 'create-cluster' AND state = 'succeeded'`,
        )
      ).rows[0].n as number;
    // Other cases finish creates meanwhile: the scrape must fall between two counts of the table.
    const before = await succeededCreates();
    const scrape = await metrics();
    const after = await succeededCreates();
    const pick = (name: string) =>
      scrape
        .filter(
          (s) => s.name === name && s.labels.type === 'create-cluster' && s.labels.outcome === 'succeeded',
        )
        .map((s) => s.value);
    const buckets = pick('paddock_operation_duration_seconds_bucket');
    const [count] = pick('paddock_operation_duration_seconds_count');
    assert.ok(count >= before && count <= after, `${before} <= ${count} <= ${after}`);
    assert.equal(buckets.length, 13, '12 bounds and +Inf');
    assert.equal(buckets.at(-1), count, 'the +Inf bucket holds every observation');
    assert.deepEqual(
      [...buckets].sort((a, b) => a - b),
      buckets,
      'cumulative',
    );
    assert.ok(pick('paddock_operation_duration_seconds_sum')[0] > 0);
  });

  it('every metric the alert rules and the dashboard query is one /metrics exports', async () => {
    await activeCluster('m-families');
    const text = (await paddock.request('GET', '/metrics')).body as string;
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const family of metricFamilies([...alertExpressions(), ...dashboardQueries()])) {
      assert.ok(exported.has(family), `${family} is exported`);
    }
  });
});
