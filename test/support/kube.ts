/**
 * Helpers for the Kubernetes API proxy tests: an active cluster made through Paddock's own API,
 * kubeconfigs written to a temporary directory, and the real `/usr/bin/kubectl` run against them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import type { Schemas } from '../../cli/api/client';
import { clusterBody, type TestPaddock } from './paddock';

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface ParsedKubeconfig {
  server: string;
  token: string;
  clusterName: string;
  context: string;
}

/** Creates a cluster and waits until its create operation has succeeded; returns the cluster. */
export async function createActiveCluster(
  paddock: TestPaddock,
  project: string,
  name: string,
): Promise<{ id: string; name: string }> {
  const {
    data: created,
    error,
    response,
  } = await paddock.client().POST('/v1/projects/{project}/clusters', {
    params: { path: { project } },
    body: clusterBody(name) as Schemas['CreateClusterDto'],
  });
  if (!created) throw new Error(`create ${name} → ${response.status} ${JSON.stringify(error)}`);
  const operation = await paddock.waitForOperation(created.operation.id, 60_000);
  if (operation.state !== 'succeeded')
    throw new Error(`create ${name} ${operation.state}: ${JSON.stringify(operation.error)}`);
  return { id: created.cluster.id, name };
}

export function parseKubeconfig(text: string): ParsedKubeconfig {
  const doc = parse(text) as {
    clusters: Array<{ name: string; cluster: { server: string } }>;
    users: Array<{ user: { token: string } }>;
    'current-context': string;
  };
  return {
    server: doc.clusters[0].cluster.server,
    token: doc.users[0].user.token,
    clusterName: doc.clusters[0].name,
    context: doc['current-context'],
  };
}

/** A scratch directory for kubeconfig files; `cleanup()` removes it. */
export function scratch(): { file(name: string, content: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'paddock-kube-'));
  return {
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A kubeconfig whose server and token are given (e.g. a ci token against Paddock's proxy). */
export function kubeconfigYaml(server: string, token: string, name = 'paddock'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: ${name}, cluster: {server: "${server}"}}]`,
    `users: [{name: ${name}, user: {token: "${token}"}}]`,
    `contexts: [{name: ${name}, context: {cluster: ${name}, user: ${name}}}]`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl with `--kubeconfig`; never throws on a non-zero exit (the caller asserts). */
let cacheDirs = 0;

/**
 * `kubectl exec`, run again (up to three times) only when kubectl itself lost the output: kubectl
 * up to v1.32 starts reading the WebSocket before it has made its streams, so a short command's
 * output that arrives first is discarded ("Unknown stream id 1, discarding message", then "closed
 * all streams") — kubernetes/kubernetes#131189, fixed in v1.33. Any other failure is returned as is.
 */
export async function kubectlExec(kubeconfigPath: string, args: string[]): Promise<KubectlResult> {
  let result = await kubectl(kubeconfigPath, ['exec', ...args]);
  for (
    let attempt = 1;
    attempt < 3 && /Unknown stream id \d+, discarding message/.test(result.stderr);
    attempt++
  )
    result = await kubectl(kubeconfigPath, ['exec', ...args]);
  return result;
}

export function kubectl(
  kubeconfigPath: string,
  args: string[],
  options: { timeoutMs?: number; stdin?: string } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      [
        '--kubeconfig',
        kubeconfigPath,
        // A fresh cache per run: discovery must go through the proxy every time.
        `--cache-dir=${join(dirname(kubeconfigPath), `cache-${cacheDirs++}`)}`,
        ...args,
      ],
      { timeout: options.timeoutMs ?? 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    else child.stdin?.end();
  });
}
