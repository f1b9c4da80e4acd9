/**
 * The real `/usr/bin/kubectl` straight against the simulator's per-cluster proxy URL, over TLS
 * (kubectl sends no token to a plain-HTTP server), with a kubeconfig written here.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';
import { selfSignedCertificate } from '../support/tls';
import { createActiveCluster, createCluster, QUICK, TEMPLATE } from './fixtures';

const KUBECTL = '/usr/bin/kubectl';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('kubectl against the simulator', () => {
  let sim: TestSimulator;
  let dir: string;
  let cert: string;
  let clusterId: string;
  let kubeconfig: string;

  before(async () => {
    const tls = selfSignedCertificate();
    cert = tls.cert;
    sim = await startTestSimulator({ timings: QUICK, nodeTemplates: [TEMPLATE], tls });
    dir = mkdtempSync(join(tmpdir(), 'paddock-kubectl-'));
    const { cluster } = await createActiveCluster(sim, 'kubectl', 2);
    clusterId = cluster.id;
    kubeconfig = writeKubeconfig('good', clusterId, sim.token);
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** JSON is YAML, and kubectl reads either. */
  function writeKubeconfig(name: string, cluster: string, token: string): string {
    const path = join(dir, `${name}.kubeconfig`);
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'sim',
          cluster: {
            server: `${sim.secureUrl}/k8s/clusters/${cluster}`,
            'certificate-authority-data': Buffer.from(cert).toString('base64'),
          },
        },
      ],
      users: [{ name: 'sim', user: { token } }],
      contexts: [{ name: 'sim', context: { cluster: 'sim', user: 'sim', namespace: 'default' } }],
      'current-context': 'sim',
    };
    writeFileSync(path, JSON.stringify(config));
    return path;
  }

  /**
   * Runs kubectl with its own discovery cache; `until` ends it early (SIGTERM) once the output
   * so far satisfies it, and `timeoutMs` bounds it either way.
   */
  function kubectl(
    args: string[],
    options: {
      config?: string;
      input?: string;
      timeoutMs?: number;
      until?: (stdout: string) => boolean;
    } = {},
  ): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        KUBECTL,
        ['--kubeconfig', options.config ?? kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        {
          env: { ...process.env, HOME: dir, KUBECONFIG: '' },
        },
      );
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (options.until?.(stdout)) child.kill('SIGTERM');
      });
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(options.input ?? '');
    });
  }

  it('kubectl get nodes lists the cluster nodes', async () => {
    const nodes = (await sim.rancher('GET', `/v3/nodes?clusterId=${clusterId}`)).body.data;
    const run = await kubectl(['get', 'nodes', '-o', 'name']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout.trim().split('\n'), nodes.map((node: any) => `node/${node.nodeName}`).sort());
    const table = await kubectl(['get', 'nodes']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n/);
    for (const node of nodes) {
      assert.match(
        table.stdout,
        new RegExp(`^${node.nodeName}\\s+Ready\\s+controlplane,etcd,worker\\s+\\S+\\s+v1\\.`, 'm'),
      );
    }
  });

  it('kubectl version reports the cluster Kubernetes version', async () => {
    const run = await kubectl(['version', '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const cluster = (await sim.rancher('GET', `/v3/clusters/${clusterId}`)).body;
    assert.equal(JSON.parse(run.stdout).serverVersion.gitVersion, cluster.version.gitVersion);
  });

  it('creates, gets and deletes a configmap', async () => {
    const created = await kubectl(['create', 'configmap', 'settings', '--from-literal=color=blue']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout.trim(), 'configmap/settings created');
    const again = await kubectl(['create', 'configmap', 'settings', '--from-literal=color=red']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /configmaps "settings" already exists/);
    const got = await kubectl(['get', 'configmap', 'settings', '-o', 'json']);
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(JSON.parse(got.stdout).data, { color: 'blue' });
    const listed = await kubectl(['get', 'cm']);
    assert.match(listed.stdout, /^NAME\s+DATA\s+AGE\n/);
    assert.match(listed.stdout, /^settings\s+1\s/m);
    const deleted = await kubectl(['delete', 'configmap', 'settings']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await kubectl(['get', 'configmap', 'settings']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /configmaps "settings" not found/);
  });

  it('kubectl get cm --watch prints a configmap created while it watches', async () => {
    const watching = kubectl(['get', 'cm', '--watch'], {
      until: (stdout) => /^watched\s/m.test(stdout),
      timeoutMs: 20_000,
    });
    // kubectl lists first, then watches from the list's version: a create at any point shows up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const created = await kubectl(['create', 'configmap', 'watched']);
    assert.equal(created.code, 0, created.stderr);
    const run = await watching;
    assert.match(run.stdout, /^watched\s/m);
    assert.notEqual(run.code, null, 'kubectl ended on its own terms');
  });

  it('kubectl exec echo -- echo hello prints hello over the WebSocket exec', async () => {
    const run = await kubectl(['exec', 'echo', '--', 'echo', 'hello']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello\n');
    const piped = await kubectl(['exec', '-i', 'echo', '--', 'cat'], { input: 'from stdin\n' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'from stdin\n');
    const failing = await kubectl(['exec', 'echo', '--', 'false']);
    assert.equal(failing.code, 1);
  });

  it('gets 401 with a token the simulator does not know', async () => {
    const config = writeKubeconfig('bad', clusterId, 'token-abcde:wrong');
    const run = await kubectl(['get', 'nodes'], { config });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /You must be logged in to the server|Unauthorized/);
  });

  it('gets 503 ServiceUnavailable for a cluster that is not active yet', async () => {
    const pending = await createCluster(sim, 'kubectl-pending');
    const config = writeKubeconfig('pending', pending.id, sim.token);
    const run = await kubectl(['get', 'configmaps'], { config });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /ServiceUnavailable|503|the server is currently unable to handle the request/);
  });
});
