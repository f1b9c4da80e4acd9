/**
 * Drift made through the simulator's own Rancher API, as an operator would: a managed cluster
 * deleted, a pool scaled behind Paddock's back, an object labelled as ours with no record, and a
 * backend that cannot be listed. Also: users' reads never call Rancher. Every case runs on both
 * backend kinds (rke1 on a simulated 2.11 through `/v3`, rke2 on a simulated 2.12 through `/v1`):
 * `KINDS` says how each makes the drift on the wire. Then the management twins of rke2 clusters,
 * which a 2.6–2.11 server also lists in `/v3/clusters` with Paddock's labels.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PROBE_READS, SYNC_LISTS } from '../support/kinds';
import { backendRegistration, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { addBackend, CaseBackend, closeCheckingInvariants, createOn, sleep } from '../support/reliability';
import type { TestSimulator } from '../support/simulator';

const PROJECT = 'drift';

type Kind = 'rke1' | 'rke2';

/** How each backend kind makes a drift on the wire, through the simulator's own API. */
interface KindProfile {
  version: string | undefined;
  deleteCluster(sim: TestSimulator, rancherId: string): Promise<number>;
  scalePool(sim: TestSimulator, rancherId: string, poolRancherId: string, quantity: number): Promise<number>;
  /** Where and what to POST for a cluster labelled as Paddock's (with `clusterId`). */
  stranger: { path: string; body(clusterId: string): unknown };
  /** What the status sync's paged lists and the health probe call (paths without the query). */
  background: string[];
}

const labelsOf = (clusterId: string) => ({
  'paddock.dev/managed': 'true',
  'paddock.dev/cluster-id': clusterId,
});

const KINDS: Record<Kind, KindProfile> = {
  rke1: {
    version: undefined,
    deleteCluster: async (sim, id) => (await sim.rancher('DELETE', `/v3/clusters/${id}`)).status,
    scalePool: async (sim, _cluster, pool, quantity) =>
      (await sim.rancher('PUT', `/v3/nodepools/${pool}`, { quantity })).status,
    stranger: {
      path: '/v3/clusters',
      body: (clusterId) => ({ name: 'not-from-paddock', labels: labelsOf(clusterId) }),
    },
    background: [...SYNC_LISTS.rke1, ...PROBE_READS.rke1],
  },
  rke2: {
    version: 'v2.12.3',
    deleteCluster: async (sim, id) =>
      (await sim.rancher('DELETE', `/v1/provisioning.cattle.io.clusters/${id}`)).status,
    async scalePool(sim, cluster, pool, quantity) {
      const name = pool.split('/').at(-1);
      const current = await sim.rancher('GET', `/v1/provisioning.cattle.io.clusters/${cluster}`);
      const machinePools = current.body.spec.rkeConfig.machinePools.map((p: any) =>
        p.name === name ? { ...p, quantity } : p,
      );
      return (
        await sim.rancher(
          'PATCH',
          `/v1/provisioning.cattle.io.clusters/${cluster}`,
          { spec: { rkeConfig: { machinePools } } },
          { 'content-type': 'application/merge-patch+json' },
        )
      ).status;
    },
    stranger: {
      path: '/v1/provisioning.cattle.io.clusters',
      body: (clusterId) => ({
        metadata: { name: 'not-from-paddock', namespace: 'fleet-default', labels: labelsOf(clusterId) },
        spec: { kubernetesVersion: 'v1.31.9+rke2r1', rkeConfig: { machinePools: [] } },
      }),
    },
    background: [...SYNC_LISTS.rke2, ...PROBE_READS.rke2],
  },
};

// The kinds run one after the other, each kind's cases at once (as many creates in flight as before).
describe('status sync: drift and unreachable backends', () => {
  let paddock: TestPaddock;
  const backends: CaseBackend[] = [];
  const drifted: string[] = [];

  before(async () => {
    paddock = await startPaddock();
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(() => closeCheckingInvariants(paddock, backends, { skipClusterIds: drifted }));

  /** A backend of `kind` with one active cluster on it; both are named `name`. */
  async function activeCluster(name: string, kind: Kind) {
    const b = await addBackend(paddock, name, { version: KINDS[kind].version });
    backends.push(b);
    const { cluster, operation } = await createOn(paddock, PROJECT, b, name);
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    const row = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [cluster.id]);
    return { b, id: cluster.id, rancherId: row.rows[0].rancher_id as string };
  }

  const getCluster = async (name: string) => {
    const response = await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`);
    assert.equal(response.status, 200);
    return response.body;
  };
  const condition = (cluster: any, type: string) => cluster.conditions.find((c: any) => c.type === type);
  const metric = async (backend: string, kind: string) => {
    const text = (await paddock.request('GET', '/metrics')).body as string;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`paddock_drift_objects{backend="${backend}",kind="${kind}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  const syncReport = async (backend: string) =>
    (await paddock.request('GET', `/v1/admin/backends/${backend}`)).body.syncReport;

  for (const kind of ['rke1', 'rke2'] as const) {
    const profile = KINDS[kind];
    /** Backend and cluster names of this kind's cases. */
    const n = (base: string) => `${base}-${kind}`;

    describe(kind, { concurrency: true }, () => {
      it('a managed cluster deleted on the backend → InSync=False MissingOnBackend, state error, report, metric', async () => {
        const { b, id, rancherId } = await activeCluster(n('d-missing'), kind);
        drifted.push(id);
        assert.equal(await profile.deleteCluster(b.sim, rancherId), 200);
        const cluster = await waitFor('MissingOnBackend', async () => {
          const c = await getCluster(n('d-missing'));
          return condition(c, 'InSync')?.reason === 'MissingOnBackend' && c.state === 'error' ? c : undefined;
        });
        assert.equal(condition(cluster, 'InSync').status, 'False');
        // The condition is written mid-cycle, the backend's report when the cycle ends.
        await waitFor(
          'the report names the missing cluster',
          async () =>
            JSON.stringify((await syncReport(n('d-missing'))).missingClusters) === JSON.stringify([id]),
        );
        await waitFor(
          'the missing-cluster gauge',
          async () => (await metric(n('d-missing'), 'missing-cluster')) === 1,
        );
      });

      it('a pool scaled behind Paddock’s back → InSync=False NodePoolDrift, observedQuantity', async () => {
        const { b, id, rancherId } = await activeCluster(n('d-scaled'), kind);
        drifted.push(id);
        const pool = (
          await paddock.db.query(
            `SELECT id, rancher_id FROM node_pools WHERE cluster_id = $1 AND name = 'workers'`,
            [id],
          )
        ).rows[0];
        assert.equal(await profile.scalePool(b.sim, rancherId, pool.rancher_id, 4), 200);
        const cluster = await waitFor('NodePoolDrift', async () => {
          const c = await getCluster(n('d-scaled'));
          return condition(c, 'InSync')?.reason === 'NodePoolDrift' ? c : undefined;
        });
        assert.equal(condition(cluster, 'InSync').status, 'False');
        const workers = cluster.nodePools.find((p: any) => p.name === 'workers');
        assert.equal(workers.quantity, 2);
        assert.equal(workers.observedQuantity, 4);
        await waitFor(
          'the report names the scaled pool',
          async () =>
            JSON.stringify((await syncReport(n('d-scaled'))).scaledPools) === JSON.stringify([pool.id]),
        );
        await waitFor(
          'the scaled-pool gauge',
          async () => (await metric(n('d-scaled'), 'scaled-pool')) === 1,
        );
      });

      it('a cluster labelled as ours with no record → unknownClusters and the unknown-cluster metric', async () => {
        const b = await addBackend(paddock, n('d-unknown'), { version: profile.version });
        backends.push(b);
        const stranger = randomUUID();
        drifted.push(stranger);
        const created = await b.sim.rancher('POST', profile.stranger.path, profile.stranger.body(stranger));
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const rancherId: string = created.body.id;
        await waitFor('unknown cluster reported', async () =>
          ((await syncReport(n('d-unknown'))).unknownClusters ?? []).includes(rancherId),
        );
        assert.equal(await metric(n('d-unknown'), 'unknown-cluster'), 1);
      });

      it('an unreachable backend: reads still served, BackendReachable=False, status frozen; then recovers', async () => {
        const { b } = await activeCluster(n('d-down'), kind);
        await b.sim.faults.add({ path: '^/v[13]/', status: 503 });
        const stale = await waitFor('BackendReachable=False', async () => {
          const c = await getCluster(n('d-down'));
          return condition(c, 'BackendReachable')?.status === 'False' ? c : undefined;
        });
        const frozenAt = stale.statusUpdatedAt;
        await sleep(1_500); // five sync periods
        const still = await getCluster(n('d-down'));
        assert.equal(still.statusUpdatedAt, frozenAt, 'statusUpdatedAt stops advancing');
        assert.equal(still.state, 'active', 'the last known state is kept');
        assert.equal(
          (await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${n('d-down')}/nodes`)).status,
          200,
        );
        await b.sim.faults.clear();
        // The client's circuit breaker may be open: it lets a trial call through after 10 s.
        const back = await waitFor(
          'BackendReachable=True',
          async () => {
            const c = await getCluster(n('d-down'));
            return condition(c, 'BackendReachable')?.status === 'True' ? c : undefined;
          },
          20_000,
        );
        assert.ok(back.statusUpdatedAt > frozenAt, 'statusUpdatedAt advances again');
      });

      it('users’ reads never call Rancher', async () => {
        const { b, id } = await activeCluster(n('d-reads'), kind);
        const { rows } = await paddock.db.query(`SELECT id FROM operations WHERE cluster_id = $1`, [id]);
        await b.sim.clearCalls();
        for (let i = 0; i < 5; i++) {
          for (const path of [
            `/v1/projects/${PROJECT}/clusters/${n('d-reads')}`,
            `/v1/projects/${PROJECT}/clusters`,
            `/v1/projects/${PROJECT}/clusters/${n('d-reads')}/nodes`,
            `/v1/operations/${rows[0].id}`,
          ]) {
            assert.equal((await paddock.request('GET', path)).status, 200, path);
          }
        }
        // Only the status sync's paged lists and the health probe may appear (both run on their own
        // periods, however long the reads take); a read would show up as a per-object call.
        const calls = await b.sim.calls();
        const other = calls.filter((c) => !(c.method === 'GET' && profile.background.includes(c.path)));
        assert.deepEqual(other, [], 'no call other than the sync’s lists and the probe');
      });
    });
  }

  it('twins: rke2 clusters on a 2.9 server also registered as rke1 are not unknown clusters of the rke1 backend', async () => {
    // One Rancher 2.9 (it serves both APIs), registered once per kind, as during a migration.
    const v1 = await addBackend(paddock, 'd-twins', { version: 'v2.9.3' });
    backends.push(v1);
    const registered = await paddock.registerBackend('d-twins-v2', v1.sim, {
      ...backendRegistration('d-twins-v2', { ...v1.sim, version: 'v2.12.3' }),
      region: 'd-twins-v2',
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    assert.equal(registered.body.kind, 'rke2');
    const v2: CaseBackend = { sim: v1.sim, name: 'd-twins-v2', region: 'd-twins-v2', kind: 'rke2' };
    const { cluster, operation } = await createOn(paddock, PROJECT, v2, 'd-twins');
    assert.equal((await paddock.waitForOperation(operation.id)).state, 'succeeded');
    const { management_id: twinId } = (
      await paddock.db.query(`SELECT management_id FROM clusters WHERE id = $1`, [cluster.id])
    ).rows[0];
    // The twin is in /v3/clusters with Paddock's labels, as Rancher copies them from /v1.
    const twin = (await v1.sim.rancher('GET', `/v3/clusters/${twinId}`)).body;
    assert.equal(twin.labels['paddock.dev/cluster-id'], cluster.id);
    // A full cycle of the rke1 backend that began after the twin existed did not report it.
    const since = Date.now();
    const report = await waitFor(
      'an rke1 sync cycle begun after the twin existed',
      async () => {
        const r = await syncReport('d-twins');
        return r && Date.parse(r.at) - r.durationMs > since ? r : undefined;
      },
      60_000,
    );
    assert.deepEqual(report.unknownClusters, []);
    assert.equal(await metric('d-twins', 'unknown-cluster'), 0);
    assert.deepEqual((await syncReport('d-twins-v2')).unknownClusters, []);
    // Delete through Paddock; the twin goes with it.
    const deleted = await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/d-twins`);
    assert.equal(deleted.status, 202, JSON.stringify(deleted.body));
    assert.equal((await paddock.waitForOperation(deleted.body.id)).state, 'succeeded');
    await waitFor(
      'twin gone',
      async () => (await v1.sim.rancher('GET', `/v3/clusters/${twinId}`)).status === 404,
    );
  });
});
