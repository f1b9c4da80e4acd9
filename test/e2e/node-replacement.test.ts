/**
 * Replacing nodes over real HTTP on both backend kinds (rke1 on a simulated Rancher 2.9, rke2 on
 * 2.12, one Paddock): `DELETE …/nodes/{node}` deletes the node on the backend and waits for its
 * pool to make a new one; quorum protection; the conflict with a running operation; a pool's
 * `autoReplace` reaching the backend and the backend replacing an unhealthy node by itself; bad
 * input; faults at each new step. Rancher calls are counted from the simulators' own call logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { CallRecord, startTestSimulator, TestSimulator } from '../support/simulator';

type Kind = 'rke1' | 'rke2';
const KINDS: Kind[] = ['rke1', 'rke2'];
const VERSION: Record<Kind, string> = { rke1: 'v2.9.3', rke2: 'v2.12.3' };
/** The one Rancher write of a replacement. */
const NODE_DELETE: Record<Kind, RegExp> = {
  rke1: /^DELETE \/v3\/nodes\/c-[a-z0-9]+:m-[a-z0-9]+$/,
  rke2: /^DELETE \/v1\/cluster\.x-k8s\.io\.machines\/fleet-default\/[^/]+$/,
};

interface Node {
  id: string;
  hostname: string;
  nodePool: string | null;
  roles: string[];
  state: string;
}

describe('replacing nodes on both backend kinds (rke1 on Rancher 2.9, rke2 on 2.12)', () => {
  let paddock: TestPaddock;
  const sims = {} as Record<Kind, TestSimulator>;
  const PROJECT = 'nr';
  const path = (cluster: string, rest = '') => `/v1/projects/${PROJECT}/clusters/${cluster}${rest}`;

  const nodes = async (cluster: string): Promise<Node[]> => {
    const response = await paddock.request('GET', path(cluster, '/nodes?limit=100'));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return response.body.items;
  };
  const rancherIdOf = async (nodeId: string): Promise<string> =>
    (await paddock.db.query('SELECT rancher_id FROM nodes WHERE id = $1', [nodeId])).rows[0].rancher_id;
  const poolRancherId = async (cluster: string, pool: string): Promise<string> =>
    (
      await paddock.db.query(
        `SELECT p.rancher_id FROM node_pools p JOIN clusters c ON c.id = p.cluster_id
         WHERE c.name = $1 AND p.name = $2 AND p.state NOT IN ('deleted', 'failed')`,
        [cluster, pool],
      )
    ).rows[0].rancher_id;

  async function settled(response: { status: number; body: any }, state = 'succeeded') {
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const op = await paddock.waitForOperation(response.body.operation?.id ?? response.body.id, 60_000);
    assert.equal(op.state, state, JSON.stringify(op));
    return op;
  }

  /** The pool has `quantity` nodes, all active, and (when given) none of `gone` among them. */
  async function poolSettles(cluster: string, pool: string, quantity: number, gone: string[] = []) {
    return waitFor(
      `pool ${pool} of ${cluster} at ${quantity} active nodes without ${gone.join(', ')}`,
      async () => {
        const members = (await nodes(cluster)).filter((n) => n.nodePool === pool);
        return (
          members.length === quantity &&
          members.every((n) => n.state === 'active') &&
          members.every((n) => !gone.includes(n.id)) &&
          members
        );
      },
      30_000,
    );
  }

  async function createCluster(kind: Kind, name: string, pools: unknown[]) {
    await settled(
      await paddock.request('POST', `/v1/projects/${PROJECT}/clusters`, {
        name,
        region: `r-${kind}`,
        nodePools: pools,
      }),
    );
  }

  /** Makes a node's kubelet unhealthy on the backend: rke1 `Ready` (on the v3 node), rke2 the machine's `NodeHealthy`. */
  async function makeUnhealthy(kind: Kind, rancherId: string, status: 'False' | 'Unknown') {
    const response = await sims[kind].setCondition(
      kind === 'rke1'
        ? { type: 'node', id: rancherId, condition: { type: 'Ready', status } }
        : { type: 'machine', id: rancherId, condition: { type: 'NodeHealthy', status } },
    );
    assert.ok(response, 'the simulator took the condition');
  }

  before(async () => {
    [sims.rke1, sims.rke2] = await Promise.all(
      KINDS.map((k) => startTestSimulator({ version: VERSION[k], nodeTemplates: [{ name: 'm1.large' }] })),
    );
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: '20000' } });
    for (const kind of KINDS) {
      const registered = await paddock.registerBackend(`sim-${kind}`, sims[kind], { region: `r-${kind}` });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    // One cluster per kind: three etcd+controlplane nodes, two workers that replace themselves
    // after 1 s unhealthy; and one with a lone etcd+controlplane node.
    await Promise.all(
      KINDS.flatMap((kind) => [
        createCluster(kind, `main-${kind}`, [
          { name: 'cp', roles: ['etcd', 'controlplane'], quantity: 3, flavor: 'm1.large' },
          {
            name: 'workers',
            roles: ['worker'],
            quantity: 2,
            flavor: 'm1.large',
            autoReplace: { unhealthyAfterSeconds: 1 },
          },
        ]),
        createCluster(kind, `lone-${kind}`, [
          { name: 'cp', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
          { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
        ]),
      ]),
    );
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  for (const kind of KINDS) {
    const main = `main-${kind}`;

    it(`${kind}: the pool read shows autoReplace as created; bad input is refused with 400/404, nothing written`, async () => {
      const cluster = (await paddock.request('GET', path(main))).body;
      const byName = Object.fromEntries(cluster.nodePools.map((p: any) => [p.name, p]));
      assert.deepEqual(byName.workers.autoReplace, { unhealthyAfterSeconds: 1 });
      assert.equal(byName.cp.autoReplace, null);
      for (const body of [
        {},
        { autoReplace: { unhealthyAfterSeconds: 0 } },
        { autoReplace: { unhealthyAfterSeconds: 31_540_001 } },
        { autoReplace: { unhealthyAfterSeconds: '60' } },
        { autoReplace: 600 },
      ]) {
        const response = await paddock.request('PATCH', path(main, '/node-pools/workers'), body);
        assert.equal(response.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(response.body)}`);
      }
      const badCreate = await paddock.request('POST', `/v1/projects/${PROJECT}/clusters`, {
        name: `bad-${kind}`,
        region: `r-${kind}`,
        nodePools: [
          {
            name: 'all',
            roles: ['etcd', 'controlplane', 'worker'],
            quantity: 1,
            flavor: 'm1.large',
            autoReplace: { unhealthyAfterSeconds: -5 },
          },
        ],
      });
      assert.equal(badCreate.status, 400, JSON.stringify(badCreate.body));
      assert.equal(
        (await paddock.db.query(`SELECT 1 FROM clusters WHERE name = $1`, [`bad-${kind}`])).rowCount,
        0,
      );
      const unknown = await paddock.request('DELETE', path(main, '/nodes/no-such-node'));
      assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
      const unknownCluster = await paddock.request('DELETE', path('no-such-cluster', '/nodes/x'));
      assert.equal(unknownCluster.status, 404);
    });

    it(`${kind}: replacing a worker deletes it on the backend once; the pool ends at the same quantity, all active, quota unchanged`, async () => {
      const before = await poolSettles(main, 'workers', 2);
      const quotaBefore = (await paddock.request('GET', `/v1/projects/${PROJECT}/quota`)).body;
      const victim = before[0];
      const rancherId = await rancherIdOf(victim.id);
      await sims[kind].clearCalls();
      const started = Date.now();
      const response = await paddock.request('DELETE', path(main, `/nodes/${victim.hostname}`));
      assert.equal(response.headers.get('location'), `/v1/operations/${response.body.id}`);
      assert.equal(response.body.type, 'replace-node');
      const op = await settled(response);
      const seconds = (Date.now() - started) / 1000;
      assert.deepEqual(
        op.steps.map((s: { name: string }) => s.name),
        ['delete-node', 'await-node-replaced'],
      );
      const calls: CallRecord[] = await sims[kind].calls();
      const writes = calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
      assert.equal(writes.length, 1, writes.join(', '));
      assert.match(writes[0], NODE_DELETE[kind]);
      assert.ok(
        writes[0].endsWith(encodeURI(rancherId.split('/').pop()!)),
        `${writes[0]} deletes ${rancherId}`,
      );
      // For the note: how long one replacement takes and what it costs in Rancher calls.
      console.log(
        `[measure] ${kind} replacement: ${seconds.toFixed(2)} s, ${calls.length} Rancher calls ` +
          `(${writes.length} write, ${calls.length - writes.length} GETs, mostly the status sync's lists)`,
      );
      const after = await poolSettles(main, 'workers', 2, [victim.id]);
      assert.ok(!(await paddock.db.query('SELECT 1 FROM nodes WHERE rancher_id = $1', [rancherId])).rowCount);
      assert.equal(after.length, 2);
      const quotaAfter = (await paddock.request('GET', `/v1/projects/${PROJECT}/quota`)).body;
      assert.deepEqual(quotaAfter.nodes, quotaBefore.nodes);
      const cluster = (await paddock.request('GET', path(main))).body;
      assert.equal(cluster.state, 'active');
      assert.equal(cluster.nodePools.find((p: any) => p.name === 'workers').quantity, 2);
    });

    it(`${kind}: a second replacement while one runs is refused (409 OPERATION_IN_PROGRESS)`, async () => {
      const workers = await poolSettles(main, 'workers', 2);
      const first = await paddock.request('DELETE', path(main, `/nodes/${workers[0].id}`));
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const second = await paddock.request('DELETE', path(main, `/nodes/${workers[1].hostname}`));
      assert.equal(second.status, 409, JSON.stringify(second.body));
      assert.equal(second.body.code, 'OPERATION_IN_PROGRESS');
      const op = await paddock.waitForOperation(first.body.id, 60_000);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      await poolSettles(main, 'workers', 2, [workers[0].id]);
    });

    it(`${kind}: quorum: a lone etcd/controlplane node and a healthy member while another is down are refused (422 WOULD_LOSE_QUORUM); the broken member is replaced`, async () => {
      const [lone] = (await nodes(`lone-${kind}`)).filter((n) => n.nodePool === 'cp');
      const loneRefused = await paddock.request('DELETE', path(`lone-${kind}`, `/nodes/${lone.hostname}`));
      assert.equal(loneRefused.status, 422, JSON.stringify(loneRefused.body));
      assert.equal(loneRefused.body.code, 'WOULD_LOSE_QUORUM');
      assert.match(loneRefused.body.detail, /0 healthy etcd member\(s\) of 1; etcd needs 1/);

      const members = await poolSettles(main, 'cp', 3);
      const broken = members[0];
      await makeUnhealthy(kind, await rancherIdOf(broken.id), 'False');
      await waitFor(`${broken.hostname} unhealthy in Paddock's mirror`, async () => {
        const row = (await paddock.db.query('SELECT state, conditions FROM nodes WHERE id = $1', [broken.id]))
          .rows[0];
        return (
          row.state !== 'active' ||
          row.conditions.some((c: any) => ['Ready', 'NodeHealthy'].includes(c.type) && c.status !== 'True')
        );
      });
      const healthyRefused = await paddock.request('DELETE', path(main, `/nodes/${members[1].hostname}`));
      assert.equal(healthyRefused.status, 422, JSON.stringify(healthyRefused.body));
      assert.equal(healthyRefused.body.code, 'WOULD_LOSE_QUORUM');
      assert.match(healthyRefused.body.detail, /1 healthy etcd member\(s\) of 3; etcd needs 2/);
      assert.equal(
        (
          await paddock.db.query(
            `SELECT 1 FROM operations o JOIN clusters c ON c.id = o.cluster_id
           WHERE c.name = $1 AND o.state IN ('pending', 'running')`,
            [main],
          )
        ).rowCount,
        0,
        'a refusal records no operation',
      );
      // The broken member's two peers are healthy: 2 of 3 keep quorum, so it may go.
      await settled(await paddock.request('DELETE', path(main, `/nodes/${broken.id}`)));
      await poolSettles(main, 'cp', 3, [broken.id]);
    });

    it(`${kind}: a worker gone unhealthy (rke1: unreachable, Ready=Unknown; rke2: Ready=False) is replaced by the backend after autoReplace's 1 s`, async () => {
      const workers = await poolSettles(main, 'workers', 2);
      const victim = workers[1];
      const rancherId = await rancherIdOf(victim.id);
      const started = Date.now();
      // RKE1's pool controller acts only on unreachable nodes (rancher-212.md §3.4); RKE2's
      // MachineHealthCheck on NotReady ones too.
      await makeUnhealthy(kind, rancherId, kind === 'rke1' ? 'Unknown' : 'False');
      await poolSettles(main, 'workers', 2, [victim.id]);
      const tookMs = Date.now() - started;
      assert.ok(tookMs >= 1000, `replaced after ${tookMs} ms, not before the 1 s`);
      const deletes = (await sims[kind].calls()).filter(
        (c) => c.method === 'DELETE' && c.path.includes(rancherId.split('/').pop()!),
      );
      assert.equal(deletes.length, 0, 'the backend replaced it by itself, not Paddock');
    });

    it(`${kind}: PATCH autoReplace reaches the backend (and null turns it off); a fault at set-auto-replace fails it with the pool read unchanged`, async () => {
      const poolId = await poolRancherId(main, 'workers');
      const remoteSetting = async () => {
        if (kind === 'rke1') {
          return (await sims.rke1.rancher('GET', `/v3/nodepools/${poolId}`)).body.deleteNotReadyAfterSecs;
        }
        const [, name, pool] = poolId.split('/');
        const cluster = (
          await sims.rke2.rancher('GET', `/v1/provisioning.cattle.io.clusters/fleet-default/${name}`)
        ).body;
        return cluster.spec.rkeConfig.machinePools.find((p: any) => p.name === pool).unhealthyNodeTimeout;
      };
      const op = await settled(
        await paddock.request('PATCH', path(main, '/node-pools/workers'), {
          autoReplace: { unhealthyAfterSeconds: 600 },
        }),
      );
      assert.deepEqual(
        op.steps.map((s: { name: string }) => s.name),
        ['set-auto-replace:workers'],
      );
      assert.equal(await remoteSetting(), kind === 'rke1' ? 600 : '600s');
      const pools = (await paddock.request('GET', path(main))).body.nodePools;
      assert.deepEqual(pools.find((p: any) => p.name === 'workers').autoReplace, {
        unhealthyAfterSeconds: 600,
      });

      await settled(await paddock.request('PATCH', path(main, '/node-pools/workers'), { autoReplace: null }));
      assert.equal(await remoteSetting(), kind === 'rke1' ? 0 : undefined);
      const off = (await paddock.request('GET', path(main))).body.nodePools;
      assert.equal(off.find((p: any) => p.name === 'workers').autoReplace, null);

      // The backend refuses the write for good: the operation fails, the read still says off.
      await sims[kind].faults.add({
        method: 'PUT',
        path: kind === 'rke1' ? '^/v3/nodepools/' : '^/v1/provisioning\\.cattle\\.io\\.clusters/',
        status: 422,
        code: 'InvalidBodyContent',
        message: 'refused by the test',
      });
      try {
        const failed = await settled(
          await paddock.request('PATCH', path(main, '/node-pools/workers'), {
            autoReplace: { unhealthyAfterSeconds: 5 },
          }),
          'failed',
        );
        assert.equal(failed.steps[0].state, 'failed');
      } finally {
        await sims[kind].faults.clear();
      }
      const after = (await paddock.request('GET', path(main))).body;
      assert.equal(after.nodePools.find((p: any) => p.name === 'workers').autoReplace, null);
      assert.equal(await remoteSetting(), kind === 'rke1' ? 0 : undefined);
      assert.equal(after.activeOperationId, null);

      // A scale and a setting in one PATCH: both reach the backend.
      await settled(
        await paddock.request('PATCH', path(main, '/node-pools/workers'), {
          quantity: 2,
          autoReplace: { unhealthyAfterSeconds: 1 },
        }),
      );
      assert.equal(await remoteSetting(), kind === 'rke1' ? 1 : '1s');
    });

    it(`${kind}: faults at delete-node: a lost answer is retried without a second replacement; a refusal fails the operation, the node stays and nothing is stuck`, async () => {
      const workers = await poolSettles(main, 'workers', 2);
      const deletePath = kind === 'rke1' ? '^/v3/nodes/' : '^/v1/cluster\\.x-k8s\\.io\\.machines/';
      await sims[kind].faults.add({ method: 'DELETE', path: deletePath, dropResponse: true, times: 1 });
      try {
        await settled(await paddock.request('DELETE', path(main, `/nodes/${workers[0].hostname}`)));
      } finally {
        await sims[kind].faults.clear();
      }
      const afterDrop = await poolSettles(main, 'workers', 2, [workers[0].id]);
      assert.ok(
        afterDrop.some((n) => n.id === workers[1].id),
        'the other worker was not touched',
      );

      await sims[kind].faults.add({
        method: 'DELETE',
        path: deletePath,
        status: 422,
        message: 'refused by the test',
      });
      try {
        const failed = await settled(
          await paddock.request('DELETE', path(main, `/nodes/${workers[1].hostname}`)),
          'failed',
        );
        assert.equal(failed.steps[0].name, 'delete-node');
        assert.equal(failed.steps[0].state, 'failed');
      } finally {
        await sims[kind].faults.clear();
      }
      const cluster = (await paddock.request('GET', path(main))).body;
      assert.equal(cluster.state, 'active');
      assert.equal(cluster.activeOperationId, null);
      const still = await poolSettles(main, 'workers', 2);
      assert.ok(
        still.some((n) => n.id === workers[1].id),
        'the refused node is still there',
      );
    });

    it(`${kind}: a fault at await-node-replaced (the backend's node list failing for a while) delays the operation, which then succeeds`, async () => {
      const workers = await poolSettles(main, 'workers', 2);
      const listPath =
        kind === 'rke1' ? '^/v3/nodes$' : '^/v1/cluster\\.x-k8s\\.io\\.machines/fleet-default$';
      // Fewer failures than the client's breaker counts (5 in a row open it for 10 s, which a
      // 20 s test deadline would not outlast twice): the sync misses a cycle or two, not 20 s.
      await sims[kind].faults.add({ method: 'GET', path: listPath, status: 503, times: 3 });
      try {
        await settled(await paddock.request('DELETE', path(main, `/nodes/${workers[0].hostname}`)));
      } finally {
        await sims[kind].faults.clear();
      }
      await poolSettles(main, 'workers', 2, [workers[0].id]);
    });
  }
});
