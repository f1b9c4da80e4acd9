/**
 * Fleet in the simulator over real HTTP (rancher-212.md §4.b): Fleet clusters for active clusters
 * with copied labels, HelmOps (2.12+) and Bundles with `helmOpOptions` (2.11), bundle deployments
 * moving to Ready with Fleet's summaries, rollout pacing, `-fail` versions, pause, target removal,
 * breakage behind the manager's back, and the built-in Helm repository at `/charts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { QUICK } from './fixtures';

const WS = 'fleet-default';

async function fleetClusters(sim: TestSimulator): Promise<any[]> {
  const response = await sim.rancher('GET', `/v1/fleet.cattle.io.clusters/${WS}`);
  assert.equal(response.status, 200);
  return response.body.data;
}

async function bundleDeployments(sim: TestSimulator, bundle: string): Promise<any[]> {
  const response = await sim.rancher(
    'GET',
    `/v1/fleet.cattle.io.bundledeployments?filter=metadata.labels[fleet.cattle.io/bundle-name]=${bundle}`,
  );
  assert.equal(response.status, 200);
  return response.body.data;
}

async function waitForSummary(
  sim: TestSimulator,
  path: string,
  done: (status: any) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<any> {
  let last: any;
  return waitFor(
    async () => {
      last = (await sim.rancher('GET', path)).body;
      return last?.status && done(last.status) ? last : undefined;
    },
    { timeoutMs, what: () => `${what}; last status ${JSON.stringify(last?.status)}` },
  );
}

function helmOp(name: string, version: string, chartsUrl: string, extra: Record<string, unknown> = {}): any {
  return {
    metadata: { name, namespace: WS },
    spec: {
      defaultNamespace: name,
      helm: {
        repo: chartsUrl,
        chart: 'ingress-nginx',
        version,
        releaseName: name,
        values: { replicaCount: 2 },
      },
      targets: [{ name: 'addons', clusterSelector: { matchLabels: { 'paddock.io/managed': 'true' } } }],
      ...extra,
    },
  };
}

describe('the built-in Helm repository', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ timings: QUICK });
  });
  after(() => sim.close());

  it('serves index.yaml unauthenticated with the three charts, each with a -fail version, and archives that exist', async () => {
    const response = await fetch(`${sim.url}/charts/index.yaml`);
    assert.equal(response.status, 200);
    const index = parse(await response.text());
    assert.equal(index.apiVersion, 'v1');
    for (const chart of ['ingress-nginx', 'cinder-csi', 'service-operator']) {
      const entries = index.entries[chart];
      assert.ok(entries.length >= 3, chart);
      assert.ok(
        entries.some((e: any) => /-fail$/.test(e.version)),
        `${chart} lists a -fail version`,
      );
      for (const entry of entries) {
        assert.equal(entry.name, chart);
        assert.match(entry.digest, /^[0-9a-f]{64}$/);
      }
    }
    const url = index.entries['service-operator'].find((e: any) => e.version === '1.2.0').urls[0];
    const archive = await fetch(url);
    assert.equal(archive.status, 200);
    const bytes = Buffer.from(await archive.arrayBuffer());
    assert.equal(bytes[0], 0x1f);
    assert.equal(bytes[1], 0x8b);
    const { createHash } = await import('node:crypto');
    assert.equal(
      createHash('sha256').update(bytes).digest('hex'),
      index.entries['service-operator'].find((e: any) => e.version === '1.2.0').digest,
    );
    assert.equal((await fetch(`${sim.url}/charts/nope-1.0.0.tgz`)).status, 404);
  });
});

describe('Fleet on a v2.12 simulator (HelmOps, provisioning v2 clusters)', () => {
  let sim: TestSimulator;
  let charts: string;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK });
    charts = `${sim.url}/charts`;
    await sim.seed({
      clusters: 3,
      kind: 'rke2',
      namePrefix: 'prod-',
      labels: { 'paddock.io/managed': 'true', env: 'prod', 'example.cattle.io/team': 'x' },
    });
    await sim.seed({ clusters: 1, kind: 'rke2', namePrefix: 'other-', labels: { env: 'dev' } });
  });
  after(() => sim.close());

  it('registers every active cluster in fleet-default with its labels, minus keys containing cattle.io/', async () => {
    const clusters = await fleetClusters(sim);
    assert.equal(clusters.length, 4);
    const prod = clusters.find((c) => c.metadata.name === 'prod-1');
    assert.ok(prod, JSON.stringify(clusters.map((c) => c.metadata.name)));
    assert.equal(prod.id, `${WS}/prod-1`);
    assert.equal(prod.type, 'fleet.cattle.io.cluster');
    assert.equal(prod.metadata.labels['paddock.io/managed'], 'true');
    assert.equal(prod.metadata.labels.env, 'prod');
    assert.equal(prod.metadata.labels['example.cattle.io/team'], undefined);
    assert.match(prod.metadata.labels['management.cattle.io/cluster-name'], /^c-m-/);
    assert.equal(prod.metadata.labels['management.cattle.io/cluster-display-name'], 'prod-1');
    assert.match(prod.status.namespace, /^cluster-fleet-default-prod-1-[0-9a-f]{12}$/);
  });

  it('rolls a HelmOp out to the labelled clusters until every bundle deployment is Ready', async () => {
    const created = await sim.rancher(
      'POST',
      '/v1/fleet.cattle.io.helmops',
      helmOp('ingress', '4.12.0', charts),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.helmops/${WS}/ingress`,
      (s) => s.summary?.desiredReady === 3 && s.summary.ready === 3,
      'HelmOp ready on 3 clusters',
    );
    assert.equal(done.status.display.readyBundleDeployments, '3/3');
    assert.equal(done.status.display.state, '');
    assert.equal(done.status.version, '4.12.0');
    const bundle = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/ingress`)).body;
    assert.equal(bundle.metadata.labels['fleet.cattle.io/fleet-helm-name'], 'ingress');
    assert.deepEqual(bundle.spec.helmOpOptions, {});
    assert.equal(bundle.status.display.readyClusters, '3/3');
    const bds = await bundleDeployments(sim, 'ingress');
    assert.equal(bds.length, 3);
    for (const bd of bds) {
      assert.match(bd.metadata.namespace, /^cluster-fleet-default-prod-\d-[0-9a-f]{12}$/);
      assert.equal(bd.metadata.name, 'ingress');
      assert.equal(bd.metadata.labels['fleet.cattle.io/cluster-namespace'], WS);
      assert.equal(bd.status.appliedDeploymentID, bd.spec.deploymentID);
      assert.equal(bd.status.ready, true);
      assert.equal(bd.spec.options.helm.values.replicaCount, 2);
    }
  });

  it('answers 409 to a PUT with a stale resourceVersion', async () => {
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.helmops/${WS}/ingress`)).body;
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const response = await sim.rancher('PUT', `/v1/fleet.cattle.io.helmops/${WS}/ingress`, stale);
    assert.equal(response.status, 409);
    assert.equal(response.body.code, 'Conflict');
  });

  it('takes a -fail version to ErrApplied with a message on every targeted cluster', async () => {
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.helmops/${WS}/ingress`)).body;
    current.spec.helm.version = '4.13.0-fail';
    const updated = await sim.rancher('PUT', `/v1/fleet.cattle.io.helmops/${WS}/ingress`, current);
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    const failed = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/ingress`,
      (s) => s.summary?.errApplied === 3,
      'ErrApplied on 3 clusters',
    );
    assert.equal(failed.status.display.state, 'ErrApplied');
    assert.equal(failed.status.display.readyClusters, '0/3');
    const names = failed.status.summary.nonReadyResources.map((r: any) => r.name).sort();
    assert.deepEqual(names, ['fleet-default/prod-1', 'fleet-default/prod-2', 'fleet-default/prod-3']);
    for (const resource of failed.status.summary.nonReadyResources) {
      assert.equal(resource.bundleState, 'ErrApplied');
      assert.match(resource.message, /4\.13\.0-fail/);
    }
  });
});
