/**
 * The Kubernetes manifests render with the real `kubectl kustomize` (base and the example
 * overlay), and the objects are what an SRE deploys: API and worker Deployments with probes,
 * resources, non-root and a read-only root filesystem, the migration Job, Services, the
 * ServiceMonitors, the PrometheusRule, PodDisruptionBudgets and a NetworkPolicy — with secrets
 * referenced, never inlined. The image builds on a supported Node LTS.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { WORKER_NODE_FLAGS } from '../../src/config/worker-node-flags';

const ROOT = join(__dirname, '..', '..', '..');
const KUBERNETES = join(ROOT, 'deploy', 'kubernetes');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

function render(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) assert.fail(`kubectl kustomize could not run: ${result.error.message}`);
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout).map((d) => d.toJSON() as K8sObject);
}

describe('Kubernetes manifests (kustomize)', () => {
  let base: K8sObject[];
  let overlay: K8sObject[];
  const find = (objects: K8sObject[], kind: string, name: string) => {
    const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
    assert.ok(found, `${kind}/${name} rendered`);
    return found;
  };

  before(() => {
    base = render(join(KUBERNETES, 'base'));
    overlay = render(join(KUBERNETES, 'overlays', 'example'));
  });

  it('renders every object an installation needs', () => {
    const kinds = base.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    assert.deepEqual(kinds, [
      'ConfigMap/paddock-config',
      'Deployment/paddock-api',
      'Deployment/paddock-worker',
      'Job/paddock-migrate',
      'NetworkPolicy/paddock',
      'PodDisruptionBudget/paddock-api',
      'PodDisruptionBudget/paddock-worker',
      'PrometheusRule/paddock',
      'Service/paddock-api',
      'Service/paddock-worker-metrics',
      'ServiceAccount/paddock',
      'ServiceMonitor/paddock-api',
      'ServiceMonitor/paddock-worker',
    ]);
  });

  it('API and worker pods: probes, resources, non-root, read-only root filesystem, no service account token', () => {
    for (const name of ['paddock-api', 'paddock-worker', 'paddock-migrate']) {
      const workload = find(base, name === 'paddock-migrate' ? 'Job' : 'Deployment', name);
      const pod = workload.spec.template.spec;
      assert.equal(pod.securityContext.runAsNonRoot, true, name);
      assert.equal(pod.automountServiceAccountToken, false, name);
      for (const container of pod.containers) {
        assert.equal(container.securityContext.readOnlyRootFilesystem, true, name);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false, name);
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], name);
        assert.ok(container.resources.requests.cpu && container.resources.requests.memory, name);
        assert.ok(container.resources.limits.memory, name);
      }
    }
    const api = find(base, 'Deployment', 'paddock-api').spec.template.spec.containers[0];
    assert.equal(api.livenessProbe.httpGet.path, '/healthz');
    assert.equal(api.readinessProbe.httpGet.path, '/readyz');
    assert.deepEqual(api.command, ['node', 'dist/src/main.js']);
    assert.ok(
      api.env.some((e: { name: string; value: string }) => e.name === 'PADDOCK_ROLE' && e.value === 'api'),
    );
    const worker = find(base, 'Deployment', 'paddock-worker').spec.template.spec.containers[0];
    assert.equal(worker.livenessProbe.httpGet.path, '/healthz');
    assert.deepEqual(worker.command, ['node', ...WORKER_NODE_FLAGS, 'dist/src/worker.js']);
    assert.deepEqual(find(base, 'Job', 'paddock-migrate').spec.template.spec.containers[0].command, [
      'node',
      'dist/src/migrate.js',
    ]);
  });

  it('secrets are referenced, never inlined', () => {
    assert.equal(base.filter((o) => o.kind === 'Secret').length, 0);
    const config = base.find((o) => o.kind === 'ConfigMap')!;
    for (const key of Object.keys(config.data ?? {})) {
      assert.doesNotMatch(key, /TOKEN|KEY|PASSWORD|DATABASE_URL|REDIS_URL/, `${key} belongs in the Secret`);
    }
    for (const o of base.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const container = o.spec.template.spec.containers[0];
      assert.ok(
        container.envFrom.some(
          (e: { secretRef?: { name: string } }) => e.secretRef?.name === 'paddock-secrets',
        ),
        `${o.metadata.name} reads paddock-secrets`,
      );
      for (const e of container.env ?? []) assert.doesNotMatch(e.name, /TOKEN|KEY|PASSWORD|_URL/, e.name);
      // The generated ConfigMap's hashed name is what the pods reference.
      assert.ok(
        container.envFrom.some(
          (e: { configMapRef?: { name: string } }) => e.configMapRef?.name === config.metadata.name,
        ),
      );
    }
  });

  it('Prometheus finds the API and the workers, and gets the tested rules', () => {
    const apiMonitor = find(base, 'ServiceMonitor', 'paddock-api');
    assert.equal(apiMonitor.spec.endpoints[0].path, '/metrics');
    const apiService = find(base, 'Service', 'paddock-api');
    assert.deepEqual(
      apiMonitor.spec.selector.matchLabels,
      apiService.metadata.labels && {
        'app.kubernetes.io/name': apiService.metadata.labels['app.kubernetes.io/name'],
        'app.kubernetes.io/component': apiService.metadata.labels['app.kubernetes.io/component'],
      },
    );
    const rule = find(base, 'PrometheusRule', 'paddock');
    const alerts = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'), 'utf8'));
    assert.deepEqual(rule.spec.groups, alerts.groups);
  });

  it('PodDisruptionBudgets and the NetworkPolicy select the pods they protect', () => {
    for (const component of ['api', 'worker']) {
      const pdb = find(base, 'PodDisruptionBudget', `paddock-${component}`);
      const deployment = find(base, 'Deployment', `paddock-${component}`);
      assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
      assert.ok(
        deployment.spec.replicas > pdb.spec.maxUnavailable,
        `${component}: a drain keeps one running`,
      );
    }
    const policy = find(base, 'NetworkPolicy', 'paddock');
    assert.deepEqual(policy.spec.policyTypes, ['Ingress', 'Egress']);
    const labels = find(base, 'Deployment', 'paddock-api').spec.template.metadata.labels;
    for (const [k, v] of Object.entries(policy.spec.podSelector.matchLabels)) assert.equal(labels[k], v);
  });

  it('the example overlay puts everything in its namespace with a pinned image', () => {
    assert.equal(find(overlay, 'Namespace', 'paddock').kind, 'Namespace');
    for (const o of overlay.filter((x) => x.kind !== 'Namespace'))
      assert.equal(o.metadata.namespace, 'paddock', o.kind);
    for (const o of overlay.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      assert.equal(o.spec.template.spec.containers[0].image, 'registry.example.com/platform/paddock:0.1.0');
    }
  });

  it('the image is built on a supported Node LTS (22 or 24), and package.json allows it', () => {
    const froms = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^FROM (\S+)/gm)].map(
      (m) => m[1],
    );
    assert.ok(froms.length >= 1);
    for (const image of froms) assert.match(image, /^node:(22|24)[.-]/, image);
    const engines = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines.node as string;
    assert.match(engines, /\^22\./);
  });
});
