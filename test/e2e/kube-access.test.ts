/**
 * Kubeconfigs Paddock issues and the Kubernetes API proxy they point at, over real HTTP against
 * a real Paddock and the simulator: what a kubeconfig contains (and never contains), its
 * credential's life (ttl, revocation, its issuer, membership, cluster delete), who the proxy lets
 * through to which cluster, impersonation, the audit trail, and what comes back when the cluster
 * or its backend is not there. The proxy's way to a cluster differs per backend kind (rke2 goes
 * through the management twin `c-m-…`), so the cases that reach the backend run on an rke1
 * backend (simulated 2.11) and an rke2 one (simulated 2.12); the ones Paddock decides alone
 * (issuing, token life, refusals before any backend call, audit) run once, on rke1.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  addMember,
  bearer,
  issueToken,
  startPaddock,
  TEST_ADMIN_TOKEN,
  TestPaddock,
  waitFor,
} from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import { createActiveCluster, parseKubeconfig } from '../support/kube';

const RESPONSE_TIMEOUT_MS = 1_500;
const MAX_DURATION_SECONDS = 3;

for (const kind of ['rke1', 'rke2'] as const)
  describe(`kube access: kubeconfig credentials and the Kubernetes API proxy (${kind} backend)`, () => {
    /** Registers a case Paddock decides without the backend's kind mattering: once, on the rke1 run. */
    function once(name: string, fn: () => Promise<void>): void {
      if (kind === 'rke1') it(name, fn);
    }
    let sim: TestSimulator;
    let paddock: TestPaddock;
    let alice: string;
    let aliceTokenId: string;
    let ci: string;
    let bob: string;
    let clusterA: { id: string; name: string };
    let clusterB: { id: string; name: string };
    let otherCluster: { id: string; name: string };

    const kubeconfigFor = async (cluster: string, token: string, query = '', project = 'web') =>
      paddock.request(
        'GET',
        `/v1/projects/${project}/clusters/${cluster}/kubeconfig${query}`,
        undefined,
        bearer(token),
      );
    const issue = async (cluster: string, token: string, query = '') => {
      const response = await kubeconfigFor(cluster, token, query);
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return parseKubeconfig(response.body as string);
    };
    /** A request to the proxy, with any headers; the body is parsed when it is JSON. */
    const proxied = async (
      path: string,
      token: string | null,
      headers: Record<string, string> = {},
      init: RequestInit = {},
    ) => {
      const response = await fetch(`${paddock.url}${path}`, {
        ...init,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      });
      const text = await response.text();
      const json =
        (response.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
      return { status: response.status, body: json, headers: response.headers };
    };
    const version = (clusterId: string, token: string | null, headers: Record<string, string> = {}) =>
      proxied(`/k8s/clusters/${clusterId}/version`, token, headers);

    before(async () => {
      sim = await startTestSimulator({
        nodeTemplates: [{ name: 'm1.large' }],
        ...(kind === 'rke2' ? { version: 'v2.12.3' } : {}),
      });
      paddock = await startPaddock({
        env: {
          PADDOCK_KUBECONFIG_MAX_TTL: '86400',
          PADDOCK_KUBE_PROXY_RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
          PADDOCK_KUBE_PROXY_MAX_DURATION_SECONDS: String(MAX_DURATION_SECONDS),
        },
      });
      assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
      for (const name of ['web', 'other'])
        assert.equal((await paddock.request('POST', '/v1/admin/projects', { name })).status, 201);
      await addMember(paddock, 'web', 'alice');
      await addMember(paddock, 'other', 'bob');
      const aliceToken = await issueToken(paddock, { subject: 'alice', role: 'member' });
      alice = aliceToken.secret;
      aliceTokenId = aliceToken.id;
      ci = (await issueToken(paddock, { subject: 'ci-web', role: 'ci', project: 'web' })).secret;
      bob = (await issueToken(paddock, { subject: 'bob', role: 'member' })).secret;
      [clusterA, clusterB, otherCluster] = await Promise.all([
        createActiveCluster(paddock, 'web', 'kc-a'),
        createActiveCluster(paddock, 'web', 'kc-b'),
        createActiveCluster(paddock, 'other', 'kc-other'),
      ]);
    });

    after(async () => {
      await paddock?.close();
      await sim?.close();
    });

    once(
      "issues YAML whose server is Paddock's proxy for the cluster and whose user is a pdk_kc_ credential",
      async () => {
        const response = await kubeconfigFor('kc-a', alice);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^application\/yaml/);
        assert.equal(response.headers.get('cache-control'), 'no-store');
        const text = response.body as string;
        const config = parseKubeconfig(text);
        assert.equal(config.server, `${paddock.url}/k8s/clusters/${clusterA.id}`);
        assert.equal(config.clusterName, 'kc-a');
        assert.equal(config.context, 'kc-a');
        assert.match(config.token, /^pdk_kc_[A-Za-z0-9_-]{43}$/);
        const backend = new URL(sim.url);
        assert.ok(!text.includes(backend.host), 'the backend host:port is not in the kubeconfig');
        assert.ok(!/\bc-[a-z0-9]/.test(config.server), 'no Rancher cluster id in the server URL');
        assert.ok(!text.includes(sim.token) && !text.includes(sim.token.split(':')[0]), 'no Rancher token');
        const stored = await paddock.db.query(`SELECT token_hash FROM kubeconfig_credentials`);
        assert.ok(
          stored.rows.every((r: { token_hash: string }) => r.token_hash !== config.token),
          'only a digest is stored',
        );
      },
    );

    once('refuses a ttlSeconds out of range with a 400 naming ttlSeconds, and issues nothing', async () => {
      const before = (await paddock.db.query(`SELECT count(*)::int AS n FROM kubeconfig_credentials`)).rows[0]
        .n;
      for (const query of ['?ttlSeconds=0', '?ttlSeconds=86401', '?ttlSeconds=abc', '?ttlSeconds=1.5']) {
        const response = await kubeconfigFor('kc-a', alice, query);
        assert.equal(response.status, 400, query);
        assert.equal(response.body.code, 'VALIDATION_FAILED');
        assert.ok(response.body.errors.length > 0, query);
        assert.ok(
          response.body.errors.every((e: { field: string }) => e.field === 'ttlSeconds'),
          JSON.stringify(response.body),
        );
      }
      const afterCount = (await paddock.db.query(`SELECT count(*)::int AS n FROM kubeconfig_credentials`))
        .rows[0].n;
      assert.equal(afterCount, before);
    });

    once('gives the credential 8 hours by default and exactly ttlSeconds when asked', async () => {
      const started = Date.now();
      await issue('kc-a', alice);
      await issue('kc-a', alice, '?ttlSeconds=600');
      const rows = (
        await paddock.db.query(
          `SELECT extract(epoch FROM expires_at - created_at)::int AS ttl FROM kubeconfig_credentials ORDER BY created_at DESC LIMIT 2`,
        )
      ).rows.map((r: { ttl: number }) => r.ttl);
      assert.deepEqual(
        rows.sort((a: number, b: number) => a - b),
        [600, 8 * 3600],
      );
      assert.ok(Date.now() - started < 60_000);
    });

    once("is refused by the backend's own API: the credential is Paddock's, not Rancher's", async () => {
      const { token } = await issue('kc-a', alice);
      const v3 = await fetch(`${sim.url}/v3/clusters`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(v3.status, 401);
      const rancherId = (
        await paddock.db.query(`SELECT rancher_id FROM clusters WHERE id = $1`, [clusterA.id])
      ).rows[0].rancher_id as string;
      const direct = await fetch(`${sim.url}/k8s/clusters/${rancherId}/version`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(direct.status, 401);
    });

    once('is refused on /v1 with a 401: it works on its cluster proxy only', async () => {
      const { token } = await issue('kc-a', alice);
      for (const path of [
        '/v1/projects',
        '/v1/projects/web/clusters',
        '/v1/projects/web/clusters/kc-a/kubeconfig',
      ]) {
        const response = await paddock.request('GET', path, undefined, bearer(token));
        assert.equal(response.status, 401, path);
      }
    });

    once('answers 401 as a Kubernetes Status without a valid token', async () => {
      for (const token of [
        null,
        'not-a-token',
        'pdk_kc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        'pdk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      ]) {
        const response = await version(clusterA.id, token);
        assert.equal(response.status, 401, String(token));
        assert.equal(response.body.kind, 'Status');
        assert.equal(response.body.reason, 'Unauthorized');
        assert.equal(response.body.code, 401);
        assert.equal(response.body.details.causes[0].reason, 'UNAUTHENTICATED');
      }
    });

    once(
      "answers 404 for a cluster the caller cannot see, another cluster's path, or no cluster",
      async () => {
        const { token } = await issue('kc-a', alice);
        const cases: Array<[string, string]> = [
          [clusterB.id, token], // a kubeconfig for A on B's path
          [otherCluster.id, token],
          [otherCluster.id, alice], // a member of web on a cluster of other
          [clusterA.id, bob], // a member of other on a cluster of web
          [otherCluster.id, ci], // a ci token of web
          ['00000000-0000-4000-8000-000000000000', alice],
          ['c-abcde', alice],
        ];
        for (const [clusterId, secret] of cases) {
          const response = await version(clusterId, secret);
          assert.equal(response.status, 404, `${clusterId} ${secret.slice(0, 10)}`);
          assert.equal(response.body.kind, 'Status');
          assert.equal(response.body.reason, 'NotFound');
        }
      },
    );

    it('lets admin, member, ci and kubeconfig credentials through to the cluster they may see', async () => {
      const { token } = await issue('kc-a', alice);
      for (const secret of [token, alice, ci, TEST_ADMIN_TOKEN]) {
        const response = await version(clusterA.id, secret);
        assert.equal(response.status, 200, JSON.stringify(response.body));
        assert.equal(typeof response.body.gitVersion, 'string');
      }
    });

    it("forwards with the backend's token and never the caller's Authorization", async () => {
      const { token } = await issue('kc-a', alice);
      await sim.clearCalls();
      assert.equal((await version(clusterA.id, token)).status, 200);
      const calls = await sim.calls();
      // The proxy reaches the management cluster: the twin `c-m-…` on rke2, the cluster itself on rke1.
      const rancherId = (
        await paddock.db.query(`SELECT management_id FROM clusters WHERE id = $1`, [clusterA.id])
      ).rows[0].management_id as string;
      // The simulator answers /k8s only for its own token: a 200 proves Paddock sent the backend's.
      assert.ok(
        calls.some((c) => c.path === `/k8s/clusters/${rancherId}/version` && c.status === 200),
        JSON.stringify(calls),
      );
    });

    once('refuses any Impersonate-* header with a 403', async () => {
      const { token } = await issue('kc-a', alice);
      for (const [name, value] of [
        ['Impersonate-User', 'system:admin'],
        ['Impersonate-Group', 'system:masters'],
        ['Impersonate-Uid', '1'],
        ['Impersonate-Extra-scopes', 'x'],
      ]) {
        for (const secret of [token, TEST_ADMIN_TOKEN]) {
          const response = await version(clusterA.id, secret, { [name]: value });
          assert.equal(response.status, 403, name);
          assert.equal(response.body.reason, 'Forbidden');
          assert.equal(response.body.details.causes[0].reason, 'IMPERSONATION_FORBIDDEN');
        }
      }
    });

    once('refuses paths that would leave the cluster once the backend cleans them', async () => {
      // Sent byte for byte (fetch would resolve the dot segments itself before sending).
      const raw = (path: string) =>
        new Promise<{ status: number; body: any }>((resolve, reject) => {
          const { hostname, port } = new URL(paddock.url);
          const request = httpRequest({ hostname, port, path, headers: bearer(alice) }, (response) => {
            let text = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
          });
          request.on('error', reject).end();
        });
      for (const rest of [
        '/api/..%2F..%2F..%2Fv3/clusters',
        '/api/%2e%2e/%2e%2e/v3',
        '/api/../../../v3/clusters',
        '/api//v1',
        '/api/x%5Cy',
      ]) {
        const response = await raw(`/k8s/clusters/${clusterA.id}${rest}`);
        assert.equal(response.status, 400, rest);
        assert.equal(response.body.details.causes[0].reason, 'INVALID_PATH');
      }
    });

    once('stops the credential after ttlSeconds', async () => {
      const { token } = await issue('kc-a', alice, '?ttlSeconds=1');
      await waitFor(
        'the 1 s credential to expire',
        async () => (await version(clusterA.id, token)).status === 401,
        10_000,
      );
      const response = await version(clusterA.id, token);
      assert.match(response.body.message, /expired/);
    });

    once('lists kubeconfig credentials among the tokens and stops one when an admin revokes it', async () => {
      const { token } = await issue('kc-a', alice, '?ttlSeconds=3600');
      assert.equal((await version(clusterA.id, token)).status, 200);
      const listed = await paddock.request('GET', '/v1/admin/tokens?subject=alice&limit=500');
      const item = listed.body.items.find((t: { prefix: string }) => token.startsWith(t.prefix));
      assert.ok(item, JSON.stringify(listed.body));
      assert.equal(item.kind, 'kubeconfig');
      assert.equal(item.cluster, 'kc-a');
      assert.equal(item.clusterId, clusterA.id);
      assert.equal(item.project, 'web');
      assert.ok(Math.abs(Date.parse(item.expiresAt) - Date.now() - 3600_000) < 60_000);
      assert.ok(!JSON.stringify(listed.body).includes(token), 'the list never shows a secret');
      assert.ok(
        listed.body.items.some((t: { kind: string }) => t.kind === 'api'),
        'API tokens are listed beside them',
      );
      assert.equal((await paddock.request('DELETE', `/v1/admin/tokens/${item.id}`)).status, 204);
      const refused = await version(clusterA.id, token);
      assert.equal(refused.status, 401);
      assert.match(refused.body.message, /revoked/);
    });

    once('stops working when the token it was issued with is revoked', async () => {
      const issuer = await issueToken(paddock, { subject: 'alice', role: 'member' });
      const { token } = await issue('kc-a', issuer.secret);
      assert.equal((await version(clusterA.id, token)).status, 200);
      assert.equal((await paddock.request('DELETE', `/v1/admin/tokens/${issuer.id}`)).status, 204);
      assert.equal((await version(clusterA.id, token)).status, 401);
      // Alice's other token, and what it issues, still work.
      assert.equal((await version(clusterA.id, (await issue('kc-a', alice)).token)).status, 200);
      assert.ok(aliceTokenId);
    });

    once('stops working when its subject is removed from the project', async () => {
      await addMember(paddock, 'web', 'carol');
      const carol = (await issueToken(paddock, { subject: 'carol', role: 'member' })).secret;
      const { token } = await issue('kc-a', carol);
      assert.equal((await version(clusterA.id, token)).status, 200);
      assert.equal((await paddock.request('DELETE', '/v1/admin/projects/web/members/carol')).status, 204);
      const refused = await version(clusterA.id, token);
      assert.equal(refused.status, 401);
      assert.match(refused.body.message, /no longer a member/);
    });

    once('audits the issuing of a kubeconfig (never the secret) even though it is a GET', async () => {
      const response = await kubeconfigFor('kc-a', alice, '?ttlSeconds=120');
      const { token } = parseKubeconfig(response.body as string);
      const events = await paddock.request('GET', '/v1/admin/audit?action=getKubeconfig&actor=alice&limit=1');
      const event = events.body.items[0];
      assert.equal(event.method, 'GET');
      assert.equal(event.project, 'web');
      assert.equal(event.target, '/v1/projects/web/clusters/kc-a/kubeconfig');
      assert.equal(event.credentialId, `token:${aliceTokenId}`);
      assert.equal(event.details.ttlSeconds, 120);
      assert.equal(event.details.clusterId, clusterA.id);
      const credential = await paddock.db.query(`SELECT id FROM kubeconfig_credentials WHERE prefix = $1`, [
        token.slice(0, 15),
      ]);
      assert.equal(event.details.kubeconfigCredentialId, credential.rows[0].id);
      const everything = JSON.stringify((await paddock.request('GET', '/v1/admin/audit?limit=500')).body);
      assert.ok(!everything.includes(token), 'no secret in the audit log');
    });

    once('audits mutating proxied requests with subject, cluster, verb, path and status', async () => {
      const { token } = await issue('kc-a', alice);
      const path = `/k8s/clusters/${clusterA.id}/api/v1/namespaces/default/configmaps`;
      const created = await proxied(
        path,
        token,
        { 'content-type': 'application/json' },
        {
          method: 'POST',
          body: JSON.stringify({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'audited' },
            data: { a: 'b' },
          }),
        },
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const removed = await proxied(`${path}/audited`, token, {}, { method: 'DELETE' });
      assert.equal(removed.status, 200);
      assert.equal((await proxied(`${path}?limit=1`, token)).status, 200, 'reads are not audited');
      const events = await waitFor('the proxy audit rows', async () => {
        const listed = await paddock.request('GET', '/v1/admin/audit?actor=alice&limit=50');
        const rows = listed.body.items.filter((e: { action: string }) => e.action.startsWith('kubernetes:'));
        return rows.length >= 2 ? rows : null;
      });
      const [deleted, create] = events;
      assert.deepEqual(
        [create.action, create.method, create.target, create.status, create.project],
        ['kubernetes:create', 'POST', path, 201, 'web'],
      );
      assert.deepEqual(
        [deleted.action, deleted.method, deleted.target, deleted.status],
        ['kubernetes:delete', 'DELETE', `${path}/audited`, 200],
      );
      assert.match(create.credentialId, /^kubeconfig:/);
      assert.ok(!events.some((e: { method: string }) => e.method === 'GET'));
    });

    it("returns the backend's 503 as a Status while the cluster is not available", async () => {
      // Readiness is the management cluster's (on rke2 its twin's).
      const rancherId = (
        await paddock.db.query(`SELECT management_id FROM clusters WHERE id = $1`, [clusterB.id])
      ).rows[0].management_id as string;
      await sim.setCondition({
        type: 'cluster',
        id: rancherId,
        condition: { type: 'Ready', status: 'False' },
      });
      try {
        const response = await version(clusterB.id, alice);
        assert.equal(response.status, 503);
        assert.equal(response.body.kind, 'Status');
        assert.equal(response.body.details.causes[0].reason, 'CLUSTER_UNAVAILABLE');
        assert.ok(!JSON.stringify(response.body).includes(rancherId));
      } finally {
        await sim.setCondition({
          type: 'cluster',
          id: rancherId,
          condition: { type: 'Ready', status: 'True' },
        });
      }
    });

    it('answers 504 when the backend does not answer in time, without hanging', async () => {
      await sim.faults.add({
        method: 'GET',
        path: '^/k8s/clusters/.*/version$',
        delayMs: RESPONSE_TIMEOUT_MS * 3,
        times: 1,
      });
      const started = Date.now();
      const response = await version(clusterA.id, alice);
      assert.equal(response.status, 504);
      assert.equal(response.body.details.causes[0].reason, 'BACKEND_TIMEOUT');
      assert.ok(Date.now() - started < RESPONSE_TIMEOUT_MS * 2.5, `took ${Date.now() - started} ms`);
      await sim.faults.clear();
    });

    it('keeps a quiet watch open past the response timeout and ends it at the maximum duration', async () => {
      const started = Date.now();
      const response = await fetch(
        `${paddock.url}/k8s/clusters/${clusterA.id}/api/v1/namespaces/default/configmaps?watch=true`,
        { headers: { authorization: `Bearer ${alice}` } },
      );
      assert.equal(response.status, 200);
      await response.text();
      const elapsed = Date.now() - started;
      assert.ok(elapsed > RESPONSE_TIMEOUT_MS, `a watch is not cut by the response timeout (${elapsed} ms)`);
      assert.ok(elapsed >= MAX_DURATION_SECONDS * 1000 - 200, `ended after ${elapsed} ms`);
      assert.ok(elapsed < MAX_DURATION_SECONDS * 1000 + 5_000, `ended after ${elapsed} ms`);
    });

    it('stops the credential when its cluster is deleted, and the cluster answers 404 to others', async () => {
      const doomed = await createActiveCluster(paddock, 'web', 'kc-doomed');
      const { token } = await issue('kc-doomed', alice);
      assert.equal((await version(doomed.id, token)).status, 200);
      const deletion = await paddock.request(
        'DELETE',
        '/v1/projects/web/clusters/kc-doomed',
        undefined,
        bearer(alice),
      );
      assert.equal(deletion.status, 202);
      assert.equal((await paddock.waitForOperation(deletion.body.id, 60_000)).state, 'succeeded');
      const refused = await version(doomed.id, token);
      assert.equal(refused.status, 401);
      assert.match(refused.body.message, /deleted/);
      assert.equal((await version(doomed.id, alice)).status, 404);
    });
  });
