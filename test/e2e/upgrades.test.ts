/**
 * Kubernetes upgrades through Paddock's API on both backend kinds, behind one Paddock: an rke1
 * backend on a simulated Rancher 2.9 and an rke2 backend on a simulated 2.12, plus an rke1 backend
 * that offers only an old version (placement must pass over it). Everything reaches the
 * simulators over real HTTP; the Rancher calls are counted from their own call logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  addMember,
  bearer,
  clusterBody,
  issueToken,
  startPaddock,
  TestPaddock,
  waitFor,
} from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

type Kind = 'rke1' | 'rke2';
const PROJECT = 'upg';
/** How long the simulated backend takes to apply a change (RKE's run): long enough to watch. */
const UPDATE_MS = 1500;
const KINDS: Record<Kind, { version: string; region: string; clusterPath: (id: string) => string }> = {
  rke1: { version: 'v2.9.3', region: 'r-rke1', clusterPath: (id) => `/v3/clusters/${id}` },
  rke2: {
    version: 'v2.12.3',
    region: 'r-rke2',
    clusterPath: (id) => `/v1/provisioning.cattle.io.clusters/${id}`,
  },
};

describe('Kubernetes upgrades on both backend kinds (rke1 on Rancher 2.9, rke2 on 2.12, one Paddock)', () => {
  let paddock: TestPaddock;
  const sims = {} as Record<Kind | 'old', TestSimulator>;

  const cluster = async (name: string) =>
    (await paddock.request('GET', `/v1/projects/${PROJECT}/clusters/${name}`)).body;
  const patch = (name: string, body: unknown) =>
    paddock.request('PATCH', `/v1/projects/${PROJECT}/clusters/${name}`, body);
  const upgradesOf = async (clusterId: string) =>
    Number(
      (
        await paddock.db.query(
          `SELECT count(*) AS n FROM operations WHERE cluster_id = $1 AND type = 'upgrade'`,
          [clusterId],
        )
      ).rows[0].n,
    );
  const rancherIdOf = async (clusterId: string): Promise<string> =>
    (await paddock.db.query('SELECT rancher_id FROM clusters WHERE id = $1', [clusterId])).rows[0].rancher_id;
  /** The version the backend object asks for, in the backend's spelling. */
  const remoteVersion = async (kind: Kind, rancherId: string): Promise<string> => {
    const res = await sims[kind].rancher('GET', KINDS[kind].clusterPath(rancherId));
    return kind === 'rke1'
      ? res.body.rancherKubernetesEngineConfig.kubernetesVersion
      : res.body.spec.kubernetesVersion;
  };
  const writesOf = async (sim: TestSimulator) =>
    (await sim.calls()).filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);

  before(async () => {
    [sims.rke1, sims.rke2, sims.old] = await Promise.all([
      startTestSimulator({
        version: KINDS.rke1.version,
        nodeTemplates: [{ name: 'm1.large' }],
        timings: { clusterUpdateMs: UPDATE_MS },
        kubernetesVersions: [
          'v1.31.9-rancher1-1',
          'v1.30.14-rancher1-1',
          'v1.32.5-rancher1-1',
          'v1.33.1-rancher1-1',
        ],
      }),
      startTestSimulator({
        version: KINDS.rke2.version,
        timings: { clusterUpdateMs: UPDATE_MS },
        rke2Versions: ['v1.31.9+rke2r1', 'v1.30.14+rke2r2', 'v1.32.5+rke2r1', 'v1.33.1+rke2r1'],
      }),
      // Offers only an old version: first by name, so placement would pick it if it fitted.
      startTestSimulator({
        version: KINDS.rke1.version,
        nodeTemplates: [{ name: 'm1.large' }],
        kubernetesVersions: ['v1.30.14-rancher1-1'],
      }),
    ]);
    paddock = await startPaddock();
    for (const [name, sim, region] of [
      ['aa-old', sims.old, 'r-rke1'],
      ['sim-rke1', sims.rke1, KINDS.rke1.region],
      ['sim-rke2', sims.rke2, KINDS.rke2.region],
    ] as const) {
      const registered = await paddock.registerBackend(name, sim, { region });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  it('GET /v1/kubernetes-versions: every version on offer in users form, the defaults, the regions; no backend names for a member', async () => {
    const all = await paddock.request('GET', '/v1/kubernetes-versions');
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(
      all.body.items.map((i: any) => [i.version, i.default, i.regions]),
      [
        ['v1.33.1', false, ['r-rke1', 'r-rke2']],
        ['v1.32.5', false, ['r-rke1', 'r-rke2']],
        // The first of each simulator's list is its `k8s-version` / `rke2-default-version`.
        ['v1.31.9', true, ['r-rke1', 'r-rke2']],
        ['v1.30.14', true, ['r-rke1', 'r-rke2']],
      ],
    );
    await addMember(paddock, PROJECT, 'dev@example.com');
    const member = await issueToken(paddock, {
      subject: 'dev@example.com',
      role: 'member',
      project: PROJECT,
    });
    const seen = await paddock.request('GET', '/v1/kubernetes-versions', undefined, bearer(member.secret));
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.deepEqual(seen.body, all.body);
    assert.doesNotMatch(JSON.stringify(seen.body), /aa-old|sim-rke1|sim-rke2|backend/);

    const rke2Only = await paddock.request('GET', '/v1/kubernetes-versions?region=r-rke2');
    assert.deepEqual(
      rke2Only.body.items.map((i: any) => [i.version, i.regions]),
      ['v1.33.1', 'v1.32.5', 'v1.31.9', 'v1.30.14'].map((v) => [v, ['r-rke2']]),
    );
    const unknown = await paddock.request('GET', '/v1/kubernetes-versions?region=nowhere');
    assert.equal(unknown.status, 422);
    assert.equal(unknown.body.code, 'REGION_UNKNOWN');
    const bad = await paddock.request('GET', '/v1/kubernetes-versions?region=Not_A_Label');
    assert.equal(bad.status, 400);
  });

  it('placement passes over a backend that does not offer the requested version (503 with the reason when none does)', async () => {
    const created = await paddock.request(
      'POST',
      `/v1/projects/${PROJECT}/clusters`,
      clusterBody('placed', { region: 'r-rke1', kubernetesVersion: 'v1.32' }),
    );
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const backend = (
      await paddock.db.query(
        'SELECT b.name FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE c.id = $1',
        [created.body.cluster.id],
      )
    ).rows[0].name;
    assert.equal(backend, 'sim-rke1', 'aa-old offers only v1.30.14');
    assert.equal(created.body.cluster.kubernetesVersion, 'v1.32.5');
    assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
    assert.equal(
      (await paddock.request('DELETE', `/v1/projects/${PROJECT}/clusters/placed`)).status,
      202,
      'clean up',
    );
    // With the one backend offering it out of room, none fits: placement's 503, reasons for admins.
    await paddock.db.query(`UPDATE backends SET max_clusters = 0 WHERE name = 'sim-rke1'`);
    try {
      const none = await paddock.request(
        'POST',
        `/v1/projects/${PROJECT}/clusters`,
        clusterBody('unplaced', { region: 'r-rke1', kubernetesVersion: 'v1.32.5' }),
      );
      assert.equal(none.status, 503, JSON.stringify(none.body));
      assert.equal(none.body.code, 'NO_BACKEND_AVAILABLE');
      assert.match(JSON.stringify(none.body), /aa-old.*does not offer Kubernetes v1\.32\.5/);
    } finally {
      await paddock.db.query(`UPDATE backends SET max_clusters = 1000 WHERE name = 'sim-rke1'`);
    }
    // From here on the old backend takes no new clusters (a create without a version would fit it).
    const drained = await paddock.request('PATCH', '/v1/admin/backends/aa-old', { state: 'draining' });
    assert.equal(drained.status, 200, JSON.stringify(drained.body));
  });

  for (const kind of ['rke1', 'rke2'] as const) {
    describe(kind, () => {
      const name = `up-${kind}`;
      let clusterId: string;
      let rancherId: string;

      it('a cluster created without a version reads the one its backend reports (the default), through the sync', async () => {
        const created = await paddock.request(
          'POST',
          `/v1/projects/${PROJECT}/clusters`,
          clusterBody(name, { region: KINDS[kind].region }),
        );
        assert.equal(created.status, 202, JSON.stringify(created.body));
        // Not known until the backend says: the create chose no version.
        assert.equal(created.body.cluster.kubernetesVersion, null);
        clusterId = created.body.cluster.id;
        assert.equal((await paddock.waitForOperation(created.body.operation.id)).state, 'succeeded');
        rancherId = await rancherIdOf(clusterId);
        const c = await waitFor('active, version synced', async () => {
          const c = await cluster(name);
          return c.state === 'active' && c.kubernetesVersion !== null ? c : undefined;
        });
        // The simulators' defaults (`k8s-version`, `rke2-default-version`).
        assert.equal(c.kubernetesVersion, 'v1.31.9');
      });

      it('refuses a downgrade, a skip of a minor version and a version the backend does not offer (422), writing nothing', async () => {
        await sims[kind].clearCalls();
        const cases: Array<[string, string]> = [
          ['v1.30.14', 'DOWNGRADE_NOT_ALLOWED'],
          ['v1.31.2', 'DOWNGRADE_NOT_ALLOWED'],
          ['v1.33.1', 'VERSION_SKEW'],
          ['v2.0.0', 'VERSION_SKEW'],
          ['v1.32.1', 'VERSION_NOT_AVAILABLE'],
        ];
        for (const [version, code] of cases) {
          const refused = await patch(name, { kubernetesVersion: version, expiresAt: null });
          assert.equal(refused.status, 422, `${version}: ${JSON.stringify(refused.body)}`);
          assert.equal(refused.body.code, code, version);
          if (code === 'VERSION_NOT_AVAILABLE')
            assert.deepEqual(refused.body.available, ['v1.33.1', 'v1.32.5', 'v1.31.9', 'v1.30.14']);
        }
        const malformed = await patch(name, { kubernetesVersion: '1.32' });
        assert.equal(malformed.status, 400);
        assert.equal((await patch(name, {})).status, 400, 'nothing to change');
        // The version it runs already: no change, the cluster as it is.
        const same = await patch(name, { kubernetesVersion: 'v1.31.9' });
        assert.equal(same.status, 200, JSON.stringify(same.body));
        assert.equal(same.body.state, 'active');
        assert.equal(await upgradesOf(clusterId), 0);
        assert.deepEqual(await writesOf(sims[kind]), []);
      });

      it('refuses while the cluster is not active (409 CLUSTER_NOT_ACTIVE), writing nothing', async () => {
        const injection =
          kind === 'rke1'
            ? { type: 'cluster' as const, id: rancherId }
            : { type: 'provisioningCluster' as const, id: rancherId };
        await sims[kind].setCondition({
          ...injection,
          condition: { type: 'Ready', status: 'False', message: 'Cluster agent is not connected' },
        });
        try {
          await waitFor('cluster in error', async () => (await cluster(name)).state === 'error');
          const refused = await patch(name, { kubernetesVersion: 'v1.32.5' });
          assert.equal(refused.status, 409, JSON.stringify(refused.body));
          assert.equal(refused.body.code, 'CLUSTER_NOT_ACTIVE');
          assert.equal(await upgradesOf(clusterId), 0);
        } finally {
          await sims[kind].setCondition({ ...injection, condition: { type: 'Ready', status: 'True' } });
        }
        await waitFor('active again', async () => (await cluster(name)).state === 'active');
      });

      it('upgrades one minor step: 202 upgrade, updating meanwhile (a second change is 409), then active on the new version', async () => {
        await sims[kind].clearCalls();
        const started = Date.now();
        const accepted = await patch(name, { kubernetesVersion: 'v1.32' });
        assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
        assert.equal(accepted.body.type, 'upgrade');
        assert.equal(accepted.headers.get('location'), `/v1/operations/${accepted.body.id}`);
        assert.equal((await cluster(name)).state, 'updating');
        const again = await patch(name, { kubernetesVersion: 'v1.32.5' });
        assert.equal(again.status, 409);
        assert.equal(again.body.code, 'OPERATION_IN_PROGRESS');
        // The backend goes through `updating` too (seen from the simulator itself).
        const remoteStates = new Set<string>();
        let testReads = 0;
        const op = await waitFor('upgrade final', async () => {
          testReads++;
          const res = await sims[kind].rancher('GET', KINDS[kind].clusterPath(rancherId));
          remoteStates.add(kind === 'rke1' ? res.body.state : res.body.metadata.state.name);
          const o = (await paddock.request('GET', `/v1/operations/${accepted.body.id}`)).body;
          return o.state === 'pending' || o.state === 'running' ? undefined : o;
        });
        const elapsed = Date.now() - started;
        assert.equal(op.state, 'succeeded', JSON.stringify(op));
        assert.deepEqual(
          op.steps.map((s: any) => s.name),
          ['set-kubernetes-version', 'await-upgrade-started', 'await-upgraded'],
        );
        assert.ok(remoteStates.has('updating'), [...remoteStates].join(','));
        const after = await cluster(name);
        assert.equal(after.state, 'active');
        assert.equal(after.kubernetesVersion, 'v1.32.5');
        assert.equal(
          await remoteVersion(kind, rancherId),
          kind === 'rke1' ? 'v1.32.5-rancher1-1' : 'v1.32.5+rke2r1',
        );
        const calls = await sims[kind].calls();
        const writes = await writesOf(sims[kind]);
        assert.deepEqual(writes, [`PUT ${KINDS[kind].clusterPath(rancherId)}`]);
        // The operation's own calls are those on the cluster's object; the rest are the status
        // sync's list pages and the backend probe, which run whether or not an upgrade does.
        // This test's own reads of the object (`testReads`, to watch it go `updating`) are not counted.
        const onCluster = calls.filter((c) => c.path === KINDS[kind].clusterPath(rancherId)).length;
        const own = onCluster - testReads;
        console.log(
          `[measure] ${kind} upgrade v1.31.9→v1.32.5: ${elapsed} ms to succeeded; ${own} Rancher calls on the ` +
            `cluster (${writes.length} PUT, ${own - writes.length} GET), ${calls.length - onCluster} other calls ` +
            `(sync, probe) meanwhile; simulator fast timings with clusterUpdateMs ${UPDATE_MS}, sync period 300 ms`,
        );
      });

      if (kind === 'rke1') {
        it("Rancher's refusal (not enough worker nodes ready) fails the operation at once as UPGRADE_REFUSED, nothing changed", async () => {
          const nodes = (await sims.rke1.rancher('GET', `/v3/nodes?clusterId=${rancherId}`)).body.data.filter(
            (n: any) => n.worker && !n.controlPlane,
          );
          assert.ok(nodes.length >= 1);
          await sims.rke1.setCondition({
            type: 'node',
            id: nodes[0].id,
            condition: { type: 'Ready', status: 'False', message: 'kubelet stopped posting node status' },
          });
          try {
            await sims.rke1.clearCalls();
            const accepted = await patch(name, { kubernetesVersion: 'v1.33.1' });
            assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
            const op = await paddock.waitForOperation(accepted.body.id);
            assert.equal(op.state, 'failed', JSON.stringify(op));
            assert.equal(op.error.code, 'UPGRADE_REFUSED');
            assert.match(
              op.error.message,
              /not enough worker nodes ready to upgrade, maxUnavailable: 1, notReady: 1/,
            );
            // Sent once: a refusal is not retried.
            const puts = (await sims.rke1.calls()).filter((c) => c.method === 'PUT');
            assert.equal(puts.length, 1);
            assert.equal(op.steps[0].attempts, 1);
            const after = await cluster(name);
            assert.equal(after.state, 'active');
            assert.equal(after.kubernetesVersion, 'v1.32.5');
            assert.equal(await remoteVersion('rke1', rancherId), 'v1.32.5-rancher1-1');
          } finally {
            await sims.rke1.setCondition({
              type: 'node',
              id: nodes[0].id,
              condition: { type: 'Ready', status: 'True' },
            });
          }
        });
      }

      it('faults at each new step (a lost answer or a conflict on the write, errors on the reads of both waits) are retried; nothing is stuck', async () => {
        const path = `^${KINDS[kind].clusterPath(rancherId)}$`;
        await sims[kind].faults.add(
          kind === 'rke1'
            ? // The PUT lands but its answer is lost: the retry reads the cluster and writes nothing more.
              { method: 'PUT', path, dropResponse: true, times: 1 }
            : // Someone else wrote in between: the driver reads again and redoes the change.
              {
                method: 'PUT',
                path,
                status: 409,
                code: 'Conflict',
                message: 'the object has been modified',
                times: 1,
              },
        );
        // The write step's read fails too, before the write.
        await sims[kind].faults.add({ method: 'GET', path, status: 500, times: 1 });
        try {
          await sims[kind].clearCalls();
          const accepted = await patch(name, { kubernetesVersion: 'v1.33.1' });
          assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
          // As soon as the write reached the backend (its call log, read every 50 ms), every read
          // of the cluster fails for 2 s: the backend's update alone takes `UPDATE_MS`, so both
          // waits are still running and cannot finish while the reads fail.
          for (let i = 0; i < 200; i++) {
            if ((await sims[kind].calls()).some((c) => c.method === 'PUT')) break;
            await new Promise((r) => setTimeout(r, 50));
          }
          await sims[kind].faults.add({ method: 'GET', path, status: 500 });
          await new Promise((r) => setTimeout(r, 2000));
          await sims[kind].faults.clear();
          const op = await paddock.waitForOperation(accepted.body.id);
          assert.equal(op.state, 'succeeded', JSON.stringify(op));
          const [write, started, upgraded] = op.steps;
          // The reads that failed after the write reached the backend, from the simulator's log
          // (the client may absorb a failed read by retrying it, so a step need not record an
          // error to have met one). rke2: they land on the two waits. rke1: the write's answer was
          // lost, so they may land on the write step's re-read instead, while the backend upgrades.
          const calls = await sims[kind].calls();
          const firstPut = calls.find((c) => c.method === 'PUT');
          const failedReads = calls.filter(
            (c) =>
              c.method === 'GET' &&
              c.status === 500 &&
              new RegExp(path).test(c.path) &&
              Date.parse(c.at) >= Date.parse(firstPut!.at),
          );
          assert.ok(failedReads.length > 0, `reads failed after the write: ${JSON.stringify(op.steps)}`);
          if (kind === 'rke2')
            assert.ok(
              failedReads.some((c) => Date.parse(c.at) > Date.parse(write.finishedAt)),
              `the waits met failing reads: ${JSON.stringify(op.steps)}`,
            );
          assert.ok(Date.parse(upgraded.finishedAt) > Date.parse(started.startedAt));
          const puts = (await sims[kind].calls()).filter((c) => c.method === 'PUT');
          if (kind === 'rke1') {
            // The PUT landed and its answer was cut; whoever tried again (the client on the cut
            // connection, or the step after reading the cluster) wrote the same version at most once more.
            assert.equal(puts[0].dropped, true);
            assert.ok(puts.length <= 2, JSON.stringify(puts));
          } else {
            assert.equal(puts.length, 2, 'the conflict and the redo after a fresh read');
          }
        } finally {
          await sims[kind].faults.clear();
        }
        const after = await waitFor('active on v1.33.1', async () => {
          const c = await cluster(name);
          return c.state === 'active' && c.kubernetesVersion === 'v1.33.1' ? c : undefined;
        });
        assert.equal(after.kubernetesVersion, 'v1.33.1');
        const open = await paddock.db.query(
          `SELECT id FROM operations WHERE cluster_id = $1 AND state IN ('pending', 'running')`,
          [clusterId],
        );
        assert.equal(open.rowCount, 0);
      });
    });
  }
});
