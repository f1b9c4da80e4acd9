/**
 * The real `/usr/bin/kubectl` against a kubeconfig from Paddock, through Paddock's proxy, to the
 * simulator's Kubernetes API: nodes, a configmap's create/get/watch/delete, exec over the
 * WebSocket upgrade, and a ci token in a hand-written kubeconfig. Paddock sits behind TLS (as
 * behind an ingress), because kubectl sends a bearer token over HTTPS only. The proxy's way to the
 * cluster differs per backend kind (rke2 goes through the management twin `c-m-…`), so the kubectl
 * cases run on an rke1 backend (simulated 2.11) and an rke2 one (simulated 2.12); the token cases,
 * decided by Paddock before any backend is asked, run once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { addMember, bearer, issueToken, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';
import {
  createActiveCluster,
  KUBECTL,
  kubeconfigYaml,
  kubectl,
  kubectlExec,
  parseKubeconfig,
  scratch,
} from '../support/kube';
import { startTlsFront, TlsFront } from '../support/tls-front';

for (const kind of ['rke1', 'rke2'] as const)
  describe(`kube access: kubectl through Paddock (${kind} backend)`, () => {
    let sim: TestSimulator;
    let paddock: TestPaddock;
    let front: TlsFront;
    let files: ReturnType<typeof scratch>;
    let kubeconfigPath: string;
    let cluster: { id: string; name: string };
    let ci: string;

    before(async () => {
      front = await startTlsFront();
      sim = await startTestSimulator({
        nodeTemplates: [{ name: 'm1.large' }],
        ...(kind === 'rke2' ? { version: 'v2.12.3' } : {}),
      });
      paddock = await startPaddock({
        env: { PADDOCK_PUBLIC_URL: front.url, PADDOCK_PUBLIC_CA_FILE: front.certPath },
      });
      front.setTarget(Number(new URL(paddock.url).port));
      files = scratch();
      assert.equal((await paddock.registerBackend('sim-a', sim)).status, 201);
      assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: 'web' })).status, 201);
      await addMember(paddock, 'web', 'alice');
      ci = (await issueToken(paddock, { subject: 'ci-web', role: 'ci', project: 'web' })).secret;
      const alice = (await issueToken(paddock, { subject: 'alice', role: 'member' })).secret;
      cluster = await createActiveCluster(paddock, 'web', 'kubectl-a');
      const response = await paddock.request(
        'GET',
        '/v1/projects/web/clusters/kubectl-a/kubeconfig',
        undefined,
        bearer(alice),
      );
      assert.equal(response.status, 200);
      assert.equal(
        parseKubeconfig(response.body as string).server,
        `${front.url}/k8s/clusters/${cluster.id}`,
      );
      kubeconfigPath = files.file('alice.yaml', response.body as string);
    });

    after(async () => {
      await paddock?.close();
      await sim?.close();
      await front?.close();
      files?.cleanup();
    });

    it("`kubectl get nodes` lists the cluster's nodes", async () => {
      const listed = await kubectl(kubeconfigPath, ['get', 'nodes', '-o', 'name']);
      assert.equal(listed.code, 0, listed.stderr);
      const names = listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.replace(/^node\//, ''));
      const nodes = await paddock.request('GET', '/v1/projects/web/clusters/kubectl-a/nodes');
      const hostnames = nodes.body.items.map((n: { hostname: string }) => n.hostname).sort();
      assert.ok(hostnames.length >= 3, JSON.stringify(nodes.body));
      assert.deepEqual(names.sort(), hostnames);
    });

    it('creates, gets, watches (bounded) and deletes a configmap', async () => {
      const created = await kubectl(kubeconfigPath, [
        'create',
        'configmap',
        'demo',
        '--from-literal=greeting=hello',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const got = await kubectl(kubeconfigPath, [
        'get',
        'configmap',
        'demo',
        '-o',
        'jsonpath={.data.greeting}',
      ]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(got.stdout, 'hello');

      // A watch through the proxy delivers changes made while it is open; then it is stopped.
      const watcher = spawn(
        KUBECTL,
        [
          '--kubeconfig',
          kubeconfigPath,
          'get',
          'configmaps',
          '--watch-only',
          '--output-watch-events',
          '-o',
          'name',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let seen = '';
      watcher.stdout.setEncoding('utf8').on('data', (chunk: string) => (seen += chunk));
      watcher.stderr.setEncoding('utf8').on('data', (chunk: string) => (seen += chunk));
      try {
        // Relabel until the watch (which starts "now", so it prints changes only) reports one.
        let round = 0;
        await waitFor(
          'the watch to deliver a change to demo',
          async () => {
            await kubectl(kubeconfigPath, ['label', '--overwrite', 'configmap', 'demo', `round=${round++}`]);
            return seen.includes('configmap/demo');
          },
          20_000,
        );
        const second = await kubectl(kubeconfigPath, [
          'create',
          'configmap',
          'watched',
          '--from-literal=a=b',
        ]);
        assert.equal(second.code, 0, second.stderr);
        await waitFor(
          'the watch to deliver the new configmap',
          async () => seen.includes('configmap/watched'),
          15_000,
        );
      } finally {
        watcher.kill('SIGTERM');
      }

      for (const name of ['demo', 'watched']) {
        const deleted = await kubectl(kubeconfigPath, ['delete', 'configmap', name]);
        assert.equal(deleted.code, 0, deleted.stderr);
      }
      const gone = await kubectl(kubeconfigPath, ['get', 'configmap', 'demo']);
      assert.notEqual(gone.code, 0);
      assert.match(gone.stderr, /NotFound|not found/);
    });

    it('`kubectl exec` echoes through the WebSocket upgrade', async () => {
      const exec = await kubectlExec(kubeconfigPath, ['echo', '--', 'echo', 'hello from paddock']);
      assert.equal(exec.code, 0, exec.stderr);
      assert.equal(exec.stdout.trim(), 'hello from paddock');
      const audited = await waitFor('the exec upgrade in the audit log', async () => {
        const events = await paddock.request('GET', '/v1/admin/audit?actor=alice&action=kubernetes:connect');
        return events.body.items[0];
      });
      assert.equal(audited.status, 101);
      assert.match(
        audited.target,
        new RegExp(`^/k8s/clusters/${cluster.id}/api/v1/namespaces/default/pods/echo/exec$`),
      );
    });

    if (kind === 'rke1')
      it('a ci token of the project works with kubectl', async () => {
        const path = files.file('ci.yaml', kubeconfigYaml(`${front.url}/k8s/clusters/${cluster.id}`, ci));
        const result = await kubectl(path, [
          `--certificate-authority=${front.certPath}`,
          'get',
          'namespaces',
          '-o',
          'name',
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /namespace\/default/);
      });

    if (kind === 'rke1')
      it('kubectl reports a refusal in words: an expired or revoked kubeconfig is asked to log in again', async () => {
        const response = await paddock.request(
          'GET',
          '/v1/projects/web/clusters/kubectl-a/kubeconfig?ttlSeconds=1',
        );
        const path = files.file('short.yaml', response.body as string);
        const result = await waitFor('the 1 s kubeconfig to be refused', async () => {
          const attempt = await kubectl(path, ['get', 'nodes']);
          return attempt.code !== 0 ? attempt : null;
        });
        assert.notEqual(result.code, 0);
        // Which words kubectl prints depends on which call meets the 401 first and on its discovery
        // cache: the request or the group list ("You must be logged in to the server (…)"), or a
        // cached group list's resource read, which prints Paddock's own reason.
        assert.match(result.stderr, /must be logged in|Unauthorized|the kubeconfig credential has expired/);
      });
  });
