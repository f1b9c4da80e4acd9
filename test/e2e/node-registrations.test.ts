/**
 * Teams' own servers as workers, over real HTTP against Postgres, Redis and two simulated Rancher
 * servers (rke1 on 2.9, rke2 on 2.12), with the simulator playing the agent a person runs
 * (`POST /__sim/agents`): a registration gives a worker-only join command and holds quota; a
 * server that joins with it is listed as `registered` and counted as used; removing it frees the
 * quota; registrations that would exceed the quota (alone or racing) get 409; an expired one gives
 * its reservation back and its command stops working; a server beyond the count is drift; bad
 * input is a 400 naming the field; the token is in no log, audit row, job or table; a fault at the
 * removal's steps leaves nothing stuck.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backendRegistration, kindOf, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { dumpDatabase, dumpRedis } from '../support/secrets';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const KINDS = {
  rke1: { version: 'v2.9.3' },
  rke2: { version: 'v2.12.3' },
} as const;
type Kind = keyof typeof KINDS;

/** A cluster of 1 control node and 1 worker (2 nodes of quota), on the backend of `kind`. */
const clusterBody = (kind: Kind, name: string) => ({
  name,
  region: `r-${kind}`,
  nodePools: [
    { name: 'control', roles: ['etcd', 'controlplane'], quantity: 1, flavor: 'm1.large' },
    { name: 'workers', roles: ['worker'], quantity: 1, flavor: 'm1.large' },
  ],
});

describe('node registrations: own servers joined as workers, on rke1 and rke2', () => {
  const sims = {} as Record<Kind, TestSimulator>;
  let paddock: TestPaddock;

  before(async () => {
    [sims.rke1, sims.rke2] = await Promise.all(
      (['rke1', 'rke2'] as const).map((k) =>
        startTestSimulator({ version: KINDS[k].version, nodeTemplates: [{ name: 'm1.large' }] }),
      ),
    );
    paddock = await startPaddock({ api: 'child', captureOutput: true, env: { LOG_LEVEL: 'debug' } });
    for (const kind of ['rke1', 'rke2'] as const) {
      assert.equal(kindOf(sims[kind]), kind);
      const registered = await paddock.request('POST', '/v1/admin/backends', {
        ...backendRegistration(`sim-${kind}`, sims[kind]),
        region: `r-${kind}`,
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: `p-${kind}` })).status, 201);
    }
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  const base = (kind: Kind, cluster: string) => `/v1/projects/p-${kind}/clusters/${cluster}`;
  const quota = async (kind: Kind) =>
    (await paddock.request('GET', `/v1/projects/p-${kind}/quota`)).body.nodes;
  const setNodeLimit = async (kind: Kind, nodes: number) =>
    assert.equal(
      (await paddock.request('PUT', `/v1/admin/projects/p-${kind}/quota`, { clusters: 10, nodes })).status,
      200,
    );
  const join = (kind: Kind, command: string, hostname: string) =>
    sims[kind].rancher('POST', '/__sim/agents', { command, hostname });
  const nodesOf = async (kind: Kind, cluster: string) =>
    (await paddock.request('GET', `${base(kind, cluster)}/nodes?limit=500`)).body.items as any[];
  const registrationsOf = async (kind: Kind, cluster: string) =>
    (await paddock.request('GET', `${base(kind, cluster)}/node-registrations`)).body.items as any[];
  /** The counters agree with what the tables say (the reconcile repairs nothing). */
  const assertQuotaTruth = async () => {
    const report = await paddock.request('POST', '/v1/admin/quotas/reconcile');
    assert.equal(report.status, 200);
    assert.deepEqual(report.body.repaired, [], JSON.stringify(report.body.repaired));
  };
  const activeCluster = async (kind: Kind, name: string) => {
    const created = await paddock.request('POST', `/v1/projects/p-${kind}/clusters`, clusterBody(kind, name));
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal((await paddock.waitForOperation(created.body.operation.id, 60_000)).state, 'succeeded');
  };
  const registeredNode = (kind: Kind, cluster: string, hostname: string, state = 'active') =>
    waitFor(`${hostname} listed ${state}`, async () => {
      const node = (await nodesOf(kind, cluster)).find((n) => n.hostname === hostname);
      return node?.state === state ? node : null;
    });
  const tokens: string[] = [];
  const tokenOf = (command: string) => /--token (\S+)/.exec(command)![1];

  for (const kind of ['rke1', 'rke2'] as const) {
    describe(kind, () => {
      before(async () => {
        await setNodeLimit(kind, 8);
        await activeCluster(kind, 'gpu');
      });

      it('registration → agent join → listed as registered and counted → removal frees the quota', async () => {
        const before = await quota(kind);
        const started = Date.now();
        await sims[kind].clearCalls();
        const made = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, {
          count: 2,
          labels: { 'gpu.example.com/model': 'a100' },
          taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }],
        });
        const postMs = Date.now() - started;
        assert.equal(made.status, 201, JSON.stringify(made.body));
        // The registration's own calls (the sync's and the probes' that ran meanwhile left out).
        const postCalls = (await sims[kind].calls()).filter(
          (c) =>
            c.path.includes('clusterregistrationtokens') ||
            /provisioning\.cattle\.io\.clusters\/fleet-default\/[^/]+$/.test(c.path),
        );
        console.log(
          `measure ${kind}: registration POST ${postMs} ms, ${postCalls.length} Rancher calls: ` +
            postCalls.map((c) => `${c.method} ${c.path} ${c.status}`).join(', '),
        );
        const { id, command, count, expiresAt } = made.body;
        tokens.push(tokenOf(command));
        assert.equal(count, 2);
        assert.ok(Date.parse(expiresAt) > Date.now());
        // Worker-only, as the agent of the kind expects it, with the labels and taints appended.
        assert.match(command, / --worker /);
        assert.doesNotMatch(command, /--etcd|--controlplane|--all-roles/);
        assert.match(
          command,
          kind === 'rke1'
            ? /docker run .*rancher\/rancher-agent:/
            : /system-agent-install\.sh \| sudo sh -s - /,
        );
        assert.match(command, /--label 'gpu\.example\.com\/model=a100'/);
        assert.match(command, /--taints 'nvidia\.com\/gpu=true:NoSchedule'/);
        assert.match(command, new RegExp(`--label 'paddock\\.dev/registration-id=${id}'`));
        const reserved = await quota(kind);
        assert.equal(reserved.reserved, before.reserved + 2);
        assert.equal(reserved.used, before.used);

        // The token is a registration credential, not a Rancher API token.
        const asBearer = await sims[kind].rancher('GET', '/v3/clusters', undefined, {
          Authorization: `Bearer ${tokenOf(command)}`,
        });
        assert.equal(asBearer.status, 401);

        const joined = await join(kind, command, 'gpu-1');
        assert.equal(joined.status, 201, JSON.stringify(joined.body));
        const node = await registeredNode(kind, 'gpu', 'gpu-1');
        assert.equal(node.nodePool, null);
        assert.equal(node.source, 'registered');
        assert.equal(node.registration, id);
        assert.deepEqual(node.roles, ['worker']);
        const pool = (await nodesOf(kind, 'gpu')).filter((n) => n.nodePool !== null);
        assert.ok(pool.length > 0 && pool.every((n) => n.source === 'pool'));
        const counted = await waitFor('the joined node counted as used', async () => {
          const q = await quota(kind);
          return q.used === before.used + 1 ? q : null;
        });
        assert.equal(counted.reserved, before.reserved + 1);
        assert.equal((await registrationsOf(kind, 'gpu')).find((r) => r.id === id).joined, 1);
        // The list never shows the command.
        assert.equal((await registrationsOf(kind, 'gpu')).find((r) => r.id === id).command, undefined);
        await assertQuotaTruth();

        await sims[kind].clearCalls();
        const removeStarted = Date.now();
        const removal = await paddock.request('DELETE', `${base(kind, 'gpu')}/nodes/gpu-1`);
        assert.equal(removal.status, 202, JSON.stringify(removal.body));
        assert.equal(removal.body.type, 'remove-node');
        const done = await paddock.waitForOperation(removal.body.id, 30_000);
        const removeMs = Date.now() - removeStarted;
        assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
        const removeCalls = (await sims[kind].calls()).filter((c) =>
          /^\/v3\/nodes\/.|machines\/fleet-default\/./.test(c.path),
        );
        console.log(
          `measure ${kind}: registered node removal ${removeMs} ms (operation), node calls: ` +
            removeCalls.map((c) => `${c.method} ${c.path} ${c.status}`).join(', '),
        );
        const freed = await quota(kind);
        assert.equal(freed.used, before.used);
        // One slot of two went back with the node; the other is still held by the open registration.
        assert.equal(freed.reserved, before.reserved + 1);
        await waitFor('gpu-1 gone from the list', async () =>
          (await nodesOf(kind, 'gpu')).every((n) => n.hostname !== 'gpu-1'),
        );
        const registration = (await registrationsOf(kind, 'gpu')).find((r) => r.id === id);
        assert.equal(registration.joined, 0);
        assert.equal(registration.released, 1);

        // Revoking frees the unused slot at once, and the command stops working.
        const revoked = await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${id}`);
        assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
        assert.equal(revoked.body.state, 'revoked');
        assert.deepEqual(pick(await quota(kind)), pick(before));
        assert.equal((await join(kind, command, 'gpu-9')).status, 401);
        assert.equal(
          (await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${id}`)).status,
          409,
        );
        await assertQuotaTruth();
      });

      it('the simulated agent refuses control-plane roles and a wrong token; Paddock hands out neither', async () => {
        const made = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, { count: 1 });
        assert.equal(made.status, 201);
        tokens.push(tokenOf(made.body.command));
        for (const extra of ['--etcd', '--controlplane', '--all-roles']) {
          const refused = await join(kind, `${made.body.command} ${extra}`, 'cp-1');
          assert.equal(refused.status, 400, extra);
          assert.match(JSON.stringify(refused.body), /workers only/);
        }
        const forged = made.body.command.replace(/--token \S+/, '--token x'.padEnd(60, 'x'));
        assert.equal((await join(kind, forged, 'forged-1')).status, 401);
        const noRole = made.body.command.replace(' --worker', '');
        assert.equal((await join(kind, noRole, 'norole-1')).status, 400);
        const other: Kind = kind === 'rke1' ? 'rke2' : 'rke1';
        // The other kind's agent cannot use this cluster's command form.
        assert.equal((await join(other, made.body.command, 'x-1')).status, 400);
        assert.equal(
          (await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${made.body.id}`)).status,
          200,
        );
        await assertQuotaTruth();
      });

      it('a server that joins beyond its registration is drift, not counted', async () => {
        const before = await quota(kind);
        const made = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, { count: 1 });
        assert.equal(made.status, 201);
        tokens.push(tokenOf(made.body.command));
        assert.equal((await join(kind, made.body.command, 'extra-1')).status, 201);
        await registeredNode(kind, 'gpu', 'extra-1');
        await waitFor('extra-1 counted', async () => (await quota(kind)).used === before.used + 1);
        assert.equal((await join(kind, made.body.command, 'extra-2')).status, 201);
        await registeredNode(kind, 'gpu', 'extra-2');
        const report = await waitFor('the sync to report extra-2', async () => {
          const r = (await paddock.request('GET', `/v1/admin/backends/sim-${kind}`)).body.syncReport;
          return (r.unregisteredNodes ?? []).some((n: string) => n.endsWith('/extra-2')) ? r : null;
        });
        assert.equal(report.unregisteredNodes.length, 1);
        const cluster = await waitFor('InSync False on the cluster', async () => {
          const c = (await paddock.request('GET', base(kind, 'gpu'))).body;
          const inSync = c.conditions.find((x: any) => x.type === 'InSync');
          return inSync?.reason === 'UnregisteredNodes' ? inSync : null;
        });
        assert.match(cluster.message, /extra-2/);
        const q = await quota(kind);
        assert.equal(q.used, before.used + 1);
        assert.equal(q.reserved, before.reserved);
        await assertQuotaTruth();
        // Removing the over-joined node frees nothing (it held nothing); removing the counted one frees one.
        for (const host of ['extra-2', 'extra-1']) {
          const removal = await paddock.request('DELETE', `${base(kind, 'gpu')}/nodes/${host}`);
          assert.equal(removal.status, 202, JSON.stringify(removal.body));
          assert.equal((await paddock.waitForOperation(removal.body.id, 30_000)).state, 'succeeded');
        }
        await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${made.body.id}`);
        assert.deepEqual(pick(await quota(kind)), pick(before));
        await assertQuotaTruth();
      });

      it('registrations beyond the quota get 409, and of two racing for the last nodes exactly one wins', async () => {
        const q = await quota(kind);
        const free = q.limit - q.used - q.reserved;
        assert.ok(free >= 2, `free ${free}`);
        const over = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, {
          count: free + 1,
        });
        assert.equal(over.status, 409);
        assert.equal(over.body.code, 'QUOTA_EXCEEDED');
        const race = await Promise.all(
          [0, 1].map(() =>
            paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, { count: free }),
          ),
        );
        assert.deepEqual(
          race.map((r) => r.status).sort(),
          [201, 409],
          JSON.stringify(race.map((r) => r.body)),
        );
        const winner = race.find((r) => r.status === 201)!;
        tokens.push(tokenOf(winner.body.command));
        assert.equal((await quota(kind)).reserved, q.reserved + free);
        await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${winner.body.id}`);
        assert.deepEqual(pick(await quota(kind)), pick(q));
        await assertQuotaTruth();
      });

      it('an expired registration gives its unused reservation back and its command stops working', async () => {
        const q = await quota(kind);
        const made = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, {
          count: 2,
          ttlSeconds: 2,
        });
        assert.equal(made.status, 201);
        tokens.push(tokenOf(made.body.command));
        assert.equal((await join(kind, made.body.command, 'short-1')).status, 201);
        await registeredNode(kind, 'gpu', 'short-1');
        const expired = await waitFor('the registration to expire', async () => {
          const r = (await registrationsOf(kind, 'gpu')).find((x) => x.id === made.body.id);
          return r.state === 'expired' ? r : null;
        });
        assert.equal(expired.joined, 1);
        // The joined server stays counted; only the unused slot went back.
        const after = await quota(kind);
        assert.equal(after.used, q.used + 1);
        assert.equal(after.reserved, q.reserved);
        await waitFor(
          'the token removed on the backend',
          async () => (await join(kind, made.body.command, 'late-1')).status === 401,
        );
        const removal = await paddock.request('DELETE', `${base(kind, 'gpu')}/nodes/short-1`);
        assert.equal((await paddock.waitForOperation(removal.body.id, 30_000)).state, 'succeeded');
        assert.deepEqual(pick(await quota(kind)), pick(q));
        await assertQuotaTruth();
      });

      it('bad input is a 400 naming the field and writes nothing; a cluster that is not active gets 409', async () => {
        const q = await quota(kind);
        const cases: Array<[Record<string, unknown>, RegExp]> = [
          [{ count: 0 }, /count/],
          [{ count: 101 }, /count/],
          [{ count: 1.5 }, /count/],
          [{ count: 1, labels: { 'bad key': 'x' } }, /labels\.bad key/],
          [{ count: 1, labels: { ok: '-starts-with-dash' } }, /labels\.ok/],
          [{ count: 1, labels: { 'paddock.dev/registration-id': 'x' } }, /labels\.paddock\.dev/],
          [{ count: 1, labels: { ok: 5 } }, /labels\.ok/],
          [{ count: 1, taints: [{ key: 'gpu', effect: 'Sometimes' }] }, /taints\[0\]\.effect|effect/],
          [{ count: 1, taints: [{ key: 'a b', effect: 'NoSchedule' }] }, /taints\[0\]\.key/],
          [{ count: 1, taints: 'gpu=true:NoSchedule' }, /taints/],
          [{ count: 1, ttlSeconds: 0 }, /ttlSeconds/],
        ];
        for (const [body, field] of cases) {
          const r = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, body);
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.match(JSON.stringify(r.body), field, JSON.stringify(r.body));
        }
        assert.equal(
          (await paddock.request('POST', `${base(kind, 'nope')}/node-registrations`, { count: 1 })).status,
          404,
        );
        assert.equal(
          (await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/not-a-uuid`)).status,
          404,
        );
        assert.equal(
          (await paddock.request('DELETE', `${base(kind, 'gpu')}/nodes/no-such-node`)).status,
          404,
        );
        assert.equal(
          (
            await paddock.request(
              'GET',
              `${base(kind, 'gpu')}/node-registrations?cursor=${Buffer.from('["x","y"]').toString('base64url')}`,
            )
          ).status,
          400,
        );
        const created = await paddock.request(
          'POST',
          `/v1/projects/p-${kind}/clusters`,
          clusterBody(kind, 'young'),
        );
        assert.equal(created.status, 202);
        const notActive = await paddock.request('POST', `${base(kind, 'young')}/node-registrations`, {
          count: 1,
        });
        assert.equal(notActive.status, 409);
        assert.equal(notActive.body.code, 'CLUSTER_NOT_ACTIVE');
        assert.equal((await paddock.waitForOperation(created.body.operation.id, 60_000)).state, 'succeeded');
        const q2 = await quota(kind);
        assert.equal(q2.reserved, q.reserved);
      });

      it('a backend that gives no token is a 503 that holds no quota; a fault at the removal steps is retried: the node goes, its quota is freed, nothing is left running', async () => {
        const q = await quota(kind);
        await sims[kind].faults.add({
          method: 'POST',
          path: '^/v3/clusterregistrationtokens',
          status: 500,
          times: 20,
        });
        const refused = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, {
          count: 1,
        });
        await sims[kind].faults.clear();
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.equal(refused.body.code, 'BACKEND_UNAVAILABLE');
        assert.deepEqual(pick(await quota(kind)), pick(q));
        const made = await paddock.request('POST', `${base(kind, 'gpu')}/node-registrations`, { count: 1 });
        assert.equal(made.status, 201);
        tokens.push(tokenOf(made.body.command));
        assert.equal((await join(kind, made.body.command, 'flaky-1')).status, 201);
        await registeredNode(kind, 'gpu', 'flaky-1');
        await waitFor('flaky-1 counted', async () => (await quota(kind)).used === q.used + 1);
        const nodePath =
          kind === 'rke1' ? '^/v3/nodes/c-' : '^/v1/cluster\\.x-k8s\\.io\\.machines/fleet-default/custom-';
        await sims[kind].faults.add({ method: 'DELETE', path: nodePath, status: 503, times: 8 });
        await sims[kind].faults.add({ method: 'GET', path: nodePath, status: 500, times: 8 });
        const removal = await paddock.request('DELETE', `${base(kind, 'gpu')}/nodes/flaky-1`);
        assert.equal(removal.status, 202);
        const done = await paddock.waitForOperation(removal.body.id, 60_000);
        assert.equal(done.state, 'succeeded', JSON.stringify(done));
        assert.ok(
          done.steps.some((s: any) => s.attempts > 1),
          JSON.stringify(done.steps),
        );
        await sims[kind].faults.clear();
        const cluster = (await paddock.request('GET', base(kind, 'gpu'))).body;
        assert.equal(cluster.activeOperationId, null);
        assert.equal(cluster.state, 'active');
        await paddock.request('DELETE', `${base(kind, 'gpu')}/node-registrations/${made.body.id}`);
        assert.deepEqual(pick(await quota(kind)), pick(q));
        await assertQuotaTruth();
      });
    });
  }

  it('no registration token is in a log line, an audit row, a table or a job', async () => {
    assert.ok(tokens.length >= 10);
    const rows = await dumpDatabase(paddock);
    const keys = await dumpRedis(paddock.redis, paddock.env.PADDOCK_QUEUE_PREFIX);
    const output = paddock.output();
    assert.ok(output.length > 0, 'the API wrote log lines');
    for (const token of tokens) {
      assert.equal(rows.filter((r) => r.row.includes(token)).length, 0, 'a table holds a token');
      assert.equal(keys.filter((k) => k.value.includes(token)).length, 0, 'Redis holds a token');
      assert.ok(!output.includes(token), 'a log line holds a token');
    }
    const audit = await paddock.db.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE target LIKE '%node-registrations%'`,
    );
    assert.ok(audit.rows[0].n > 0, 'registrations are audited');
  });
});

const pick = (q: { limit: number; used: number; reserved: number }) => ({
  limit: q.limit,
  used: q.used,
  reserved: q.reserved,
});
