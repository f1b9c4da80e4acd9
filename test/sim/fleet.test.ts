/**
 * Fleet in the simulator over real HTTP (rancher-212.md §4.b): Fleet clusters for active clusters
 * with copied labels, HelmOps (2.12+) and Bundles that embed their chart in `spec.resources` (the
 * only way before 2.12: 2.11 prunes `helmOpOptions` and holds `helmAppOptions`), bundle deployments
 * moving to Ready with Fleet's summaries, rollout pacing, `-fail` versions, pause, target removal,
 * breakage behind the manager's back, and the built-in Helm repository at `/charts`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { startTestSimulator, waitFor, waitForSteveState, type TestSimulator } from '../support/simulator';
import { CLUSTERS_V1, createV2Cluster, QUICK, TEMPLATE } from './fixtures';

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

  it('registers a new cluster only once it is active, and the HelmOp reaches it with no further call', async () => {
    await createV2Cluster(sim, 'late');
    const path = `${CLUSTERS_V1}/${WS}/late`;
    const current = (await sim.rancher('GET', path)).body;
    current.metadata.labels = { ...current.metadata.labels, 'paddock.io/managed': 'true' };
    assert.equal((await sim.rancher('PUT', path, current)).status, 200);
    assert.equal(
      (await fleetClusters(sim)).some((c) => c.metadata.name === 'late'),
      false,
    );
    await waitForSteveState(sim, path, 'active');
    const late = await waitFor(
      async () => (await fleetClusters(sim)).find((c) => c.metadata.name === 'late'),
      {
        what: 'the Fleet cluster of the new cluster',
      },
    );
    assert.equal(late.metadata.labels['paddock.io/managed'], 'true');
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.helmops/${WS}/ingress`,
      (s) => s.summary?.desiredReady === 4 && s.summary.ready === 4,
      'HelmOp ready on 4 clusters',
    );
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
      (s) => s.summary?.errApplied === 4,
      'ErrApplied on 4 clusters',
    );
    assert.equal(failed.status.display.state, 'ErrApplied');
    assert.equal(failed.status.display.readyClusters, '0/4');
    const names = failed.status.summary.nonReadyResources.map((r: any) => r.name).sort();
    assert.deepEqual(names, [
      'fleet-default/late',
      'fleet-default/prod-1',
      'fleet-default/prod-2',
      'fleet-default/prod-3',
    ]);
    for (const resource of failed.status.summary.nonReadyResources) {
      assert.equal(resource.bundleState, 'ErrApplied');
      assert.match(resource.message, /4\.13\.0-fail/);
    }
  });
});

/**
 * A chart's files as `fleet apply` embeds a downloaded chart: under
 * `.chart/<sha256 of chart:repo:version>/<chart>/`, text as is or gzipped base64 (`base64+gz`).
 */
function embeddedChart(chartsUrl: string, chart: string, version: string): any[] {
  const hash = createHash('sha256').update(`${chart}:${chartsUrl}:${version}`).digest('hex');
  const dir = `.chart/${hash}/${chart}`;
  const template = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n';
  return [
    { name: `${dir}/Chart.yaml`, content: `apiVersion: v2\nname: ${chart}\nversion: ${version}\n` },
    {
      name: `${dir}/templates/configmap.yaml`,
      content: gzipSync(Buffer.from(template)).toString('base64'),
      encoding: 'base64+gz',
    },
  ];
}

/** Points a Bundle spec at another version of its chart, the resources with it. */
function setVersion(spec: any, version: string): void {
  spec.helm.version = version;
  spec.resources = embeddedChart(spec.helm.repo, spec.helm.chart, version);
}

function bundle(
  name: string,
  chart: string,
  version: string,
  chartsUrl: string,
  extra: Record<string, unknown> = {},
): any {
  return {
    metadata: { name, namespace: WS },
    spec: {
      defaultNamespace: name,
      helm: { repo: chartsUrl, chart, version, releaseName: name },
      resources: embeddedChart(chartsUrl, chart, version),
      targets: [{ name: 'addons', clusterSelector: { matchLabels: { 'paddock.io/managed': 'true' } } }],
      ...extra,
    },
  };
}

describe('Fleet: deleting a HelmOp (v2.12)', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK });
    await sim.seed({ clusters: 2, kind: 'rke2', labels: { 'paddock.io/managed': 'true' } });
  });
  after(() => sim.close());

  it('removes its Bundle and uninstalls every bundle deployment', async () => {
    const charts = `${sim.url}/charts`;
    assert.equal(
      (await sim.rancher('POST', `/v1/fleet.cattle.io.helmops/${WS}`, helmOp('gone', '', charts))).status,
      201,
    );
    const ready = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.helmops/${WS}/gone`,
      (s) => s.summary?.ready === 2,
      'ready on 2',
    );
    // `""` resolves to the newest stable version the repository lists.
    assert.equal(ready.status.version, '4.12.1');
    assert.equal((await sim.rancher('DELETE', `/v1/fleet.cattle.io.helmops/${WS}/gone`)).status, 204);
    await waitFor(
      async () => (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/gone`)).status === 404,
      {
        what: 'the Bundle goes',
      },
    );
    await waitFor(async () => (await bundleDeployments(sim, 'gone')).length === 0, { what: 'uninstalled' });
  });
});

describe('Fleet on a v2.11 simulator (Bundles with embedded charts, RKE1 clusters)', () => {
  let sim: TestSimulator;
  let charts: string;
  let ids: string[];
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.11.3', timings: QUICK, nodeTemplates: [TEMPLATE] });
    charts = `${sim.url}/charts`;
    ids = (await sim.seed({ clusters: 4, labels: { 'paddock.io/managed': 'true', ring: 'main' } }))
      .clusterIds;
  });
  after(() => sim.close());

  it('has no HelmOps type before 2.12', async () => {
    const response = await sim.rancher('GET', '/v1/fleet.cattle.io.helmops');
    assert.equal(response.status, 404);
    assert.equal(response.body.code, 'NotFound');
  });

  it('names the Fleet clusters of /v3 clusters by their c- id and copies their labels', async () => {
    const clusters = await fleetClusters(sim);
    assert.deepEqual(clusters.map((c) => c.metadata.name).sort(), [...ids].sort());
    for (const cluster of clusters) {
      assert.equal(cluster.metadata.labels['paddock.io/managed'], 'true');
      assert.equal(cluster.metadata.labels['management.cattle.io/cluster-name'], cluster.metadata.name);
    }
  });

  it('deploys a Bundle to every labelled cluster with per-target values merged over the bundle values', async () => {
    const body = bundle('svc', 'service-operator', '1.1.0', charts, {
      helm: { repo: charts, chart: 'service-operator', version: '1.1.0', values: { a: { x: 1, y: 1 } } },
      targets: [
        { name: 'one', clusterName: ids[0], helm: { values: { a: { y: 2 } } } },
        { name: 'rest', clusterSelector: { matchLabels: { 'paddock.io/managed': 'true' } } },
      ],
    });
    const created = await sim.rancher('POST', `/v1/fleet.cattle.io.bundles/${WS}`, body);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ready = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.ready === 4,
      'bundle ready on 4',
    );
    assert.equal(ready.status.display.readyClusters, '4/4');
    assert.equal(ready.status.display.state, '');
    assert.equal(ready.status.summary.desiredReady, 4);
    const bds = await bundleDeployments(sim, 'svc');
    const first = bds.find((bd) => bd.metadata.labels['fleet.cattle.io/cluster'] === ids[0]);
    const other = bds.find((bd) => bd.metadata.labels['fleet.cattle.io/cluster'] === ids[1]);
    assert.deepEqual(first.spec.options.helm.values, { a: { x: 1, y: 2 } });
    assert.deepEqual(other.spec.options.helm.values, { a: { x: 1, y: 1 } });
    assert.equal(first.spec.helmChartOptions, undefined);
    const cluster = (await sim.rancher('GET', `/v1/fleet.cattle.io.clusters/${WS}/${ids[0]}`)).body;
    assert.equal(cluster.status.display.readyBundles, '1/1');
  });

  it('uninstalls from a cluster whose label is removed on the Rancher side', async () => {
    const current = (await sim.rancher('GET', `/v3/clusters/${ids[3]}`)).body;
    const put = await sim.rancher('PUT', `/v3/clusters/${ids[3]}`, {
      ...current,
      labels: { ring: 'main' },
    });
    assert.equal(put.status, 200);
    await waitFor(
      async () => {
        const cluster = (await sim.rancher('GET', `/v1/fleet.cattle.io.clusters/${WS}/${ids[3]}`)).body;
        return cluster.metadata.labels['paddock.io/managed'] === undefined;
      },
      { what: 'the Fleet cluster loses the label' },
    );
    const done = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.desiredReady === 3,
      'bundle targets 3',
    );
    assert.equal(done.status.display.readyClusters, '3/3');
    await waitFor(async () => (await bundleDeployments(sim, 'svc')).length === 3, {
      what: 'the bundle deployment is uninstalled',
    });
  });

  it('stops deploying a new version while paused and continues when resumed', async () => {
    let current = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/svc`)).body;
    current.spec.paused = true;
    setVersion(current.spec, '1.2.0');
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.bundles/${WS}/svc`, current)).status, 200);
    const held = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.outOfSync === 3,
      'new version staged, not deployed',
    );
    assert.equal(held.status.display.state, 'OutOfSync');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const bd of await bundleDeployments(sim, 'svc')) {
      assert.notEqual(bd.spec.deploymentID, bd.spec.stagedDeploymentID);
      assert.equal(bd.spec.options.helm.version, '1.1.0');
    }
    current = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/svc`)).body;
    current.spec.paused = false;
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.bundles/${WS}/svc`, current)).status, 200);
    await waitFor(
      async () => {
        const bds = await bundleDeployments(sim, 'svc');
        return bds.every((bd) => bd.spec.options.helm.version === '1.2.0' && bd.status.ready === true);
      },
      { what: 'the new version ready everywhere' },
    );
  });

  it('reports a deployment broken behind the manager’s back, until a new version redeploys it', async () => {
    const [bd] = await bundleDeployments(sim, 'svc');
    const id = `${bd.metadata.namespace}/${bd.metadata.name}`;
    const broken = await sim.breakBundleDeployment({ id, state: 'Modified', message: 'replicas changed' });
    assert.equal(broken.status.nonModified, false);
    const modified = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.modified === 1,
      'one modified',
    );
    assert.equal(modified.status.display.state, 'Modified');
    assert.match(JSON.stringify(modified.status.summary.nonReadyResources), /replicas changed/);
    await sim.rancher('POST', '/__sim/fleet/break', { id, state: 'ErrApplied', message: 'release gone' });
    const failed = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.errApplied === 1,
      'one ErrApplied',
    );
    const entry = failed.status.summary.nonReadyResources.find((r: any) => r.bundleState === 'ErrApplied');
    assert.equal(entry.message, 'release gone');
    assert.equal((await sim.rancher('POST', '/__sim/fleet/break', { id: 'x/y' })).status, 404);
    assert.equal((await sim.rancher('POST', '/__sim/fleet/break', { id, state: 'Gone' })).status, 400);
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/svc`)).body;
    setVersion(current.spec, '1.0.0');
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.bundles/${WS}/svc`, current)).status, 200);
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.ready === 3,
      'ready again',
    );
  });

  it('rolls out by partitions, reporting each one', async () => {
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/svc`)).body;
    setVersion(current.spec, '1.1.0');
    current.spec.rolloutStrategy = {
      maxUnavailable: 1,
      partitions: [{ name: 'canary', maxUnavailable: 1, clusterName: ids[0] }],
    };
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.bundles/${WS}/svc`, current)).status, 200);
    const done = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.ready === 3 && s.maxUnavailable === 1,
      'the partitioned rollout',
    );
    assert.deepEqual(
      done.status.partitions.map((p: any) => [p.name, p.count, p.maxUnavailable, p.summary.ready]),
      [
        ['canary', 1, 1, 1],
        ['unpartitioned', 2, 1, 2],
      ],
    );
    for (const bd of await bundleDeployments(sim, 'svc')) assert.equal(bd.spec.options.helm.version, '1.1.0');
  });

  it('shows the deployments of a disconnected cluster NotReady until its agent is back', async () => {
    const set = (status: 'True' | 'False') =>
      sim.setCondition({ type: 'cluster', id: ids[1], condition: { type: 'Connected', status } });
    await set('False');
    const offline = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/svc`,
      (s) => s.summary?.notReady === 1,
      'one NotReady',
    );
    const entry = offline.status.summary.nonReadyResources.find((r: any) => r.bundleState === 'NotReady');
    assert.equal(entry.name, `${WS}/${ids[1]}`);
    assert.equal(entry.message, 'cluster agent is not connected');
    const cluster = (await sim.rancher('GET', `/v1/fleet.cattle.io.clusters/${WS}/${ids[1]}`)).body;
    assert.equal(cluster.status.display.state, 'NotReady');
    await set('True');
    await waitForSummary(sim, `/v1/fleet.cattle.io.bundles/${WS}/svc`, (s) => s.summary?.ready === 3, 'back');
  });

  it('removes every bundle deployment when the Bundle is deleted, and logs the Fleet calls', async () => {
    await sim.clearCalls();
    assert.equal((await sim.rancher('DELETE', `/v1/fleet.cattle.io.bundles/${WS}/svc`)).status, 204);
    await waitFor(async () => (await bundleDeployments(sim, 'svc')).length === 0, {
      what: 'all uninstalled',
    });
    const calls = await sim.calls();
    assert.ok(calls.some((c) => c.method === 'DELETE' && c.path === `/v1/fleet.cattle.io.bundles/${WS}/svc`));
    assert.ok(calls.some((c) => c.method === 'GET' && c.path === '/v1/fleet.cattle.io.bundledeployments'));
  });

  it('prunes helmOpOptions (Fleet 0.13 names it so) and never deploys a Bundle with helmAppOptions (EXPERIMENTAL_HELM_OPS is off)', async () => {
    const withOp = bundle('op', 'cinder-csi', '2.31.0', charts);
    withOp.spec.helmOpOptions = {};
    const pruned = await sim.rancher('POST', `/v1/fleet.cattle.io.bundles/${WS}`, withOp);
    assert.equal(pruned.status, 201, JSON.stringify(pruned.body));
    assert.equal(pruned.body.spec.helmOpOptions, undefined);
    const withApp = bundle('app', 'cinder-csi', '2.31.0', charts);
    delete withApp.spec.resources;
    withApp.spec.helmAppOptions = {};
    const held = await sim.rancher('POST', `/v1/fleet.cattle.io.bundles/${WS}`, withApp);
    assert.equal(held.status, 201, JSON.stringify(held.body));
    assert.deepEqual(held.body.spec.helmAppOptions, {});
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/op`,
      (s) => s.summary?.ready === 3,
      'op ready',
    );
    // The reconcile of `app` fails before it targets anything: no deployment, no status.
    assert.deepEqual(await bundleDeployments(sim, 'app'), []);
    assert.equal(
      (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/app`)).body.status?.summary,
      undefined,
    );
    for (const name of ['op', 'app'])
      assert.equal((await sim.rancher('DELETE', `/v1/fleet.cattle.io.bundles/${WS}/${name}`)).status, 204);
  });

  it('fails a -fail chart found among the resources; the fix reaches the failed clusters though they fill maxUnavailable', async () => {
    const created = await sim.rancher(
      'POST',
      `/v1/fleet.cattle.io.bundles/${WS}`,
      bundle('bad', 'ingress-nginx', '4.13.0-fail', charts, { rolloutStrategy: { maxUnavailable: 1 } }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const failed = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/bad`,
      (s) => s.summary?.errApplied === 3,
      'ErrApplied on the 3 labelled clusters',
    );
    for (const resource of failed.status.summary.nonReadyResources)
      assert.match(resource.message, /ingress-nginx-4\.13\.0-fail: pre-install hook/);
    assert.equal(failed.status.unavailable, 3);
    assert.equal(failed.status.maxUnavailable, 1);
    // Every failed deployment is unavailable already, so Fleet moves each to the new ID at once
    // (`partition.go` `updateDeploymentFromStaged`).
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/bad`)).body;
    setVersion(current.spec, '4.12.1');
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.bundles/${WS}/bad`, current)).status, 200);
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/bad`,
      (s) => s.summary?.ready === 3,
      'fixed',
    );
    assert.equal((await sim.rancher('DELETE', `/v1/fleet.cattle.io.bundles/${WS}/bad`)).status, 204);
  });

  it('deploys plain manifests when the resources hold no chart', async () => {
    const body = bundle('plain', 'none', '0.0.0', charts);
    delete body.spec.helm;
    body.spec.resources = [
      { name: 'configmap.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n' },
    ];
    assert.equal((await sim.rancher('POST', `/v1/fleet.cattle.io.bundles/${WS}`, body)).status, 201);
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/plain`,
      (s) => s.summary?.ready === 3,
      'ready',
    );
    assert.equal((await sim.rancher('DELETE', `/v1/fleet.cattle.io.bundles/${WS}/plain`)).status, 204);
  });
});

describe('Fleet rollout pacing (v2.12, 60 RKE2 clusters)', () => {
  let sim: TestSimulator;
  let charts: string;
  before(async () => {
    // A slow reconcile, so each pass can be seen.
    sim = await startTestSimulator({ version: 'v2.12.3', timings: { ...QUICK, fleetReconcileMs: 400 } });
    charts = `${sim.url}/charts`;
    await sim.seed({ clusters: 60, kind: 'rke2', labels: { 'paddock.io/managed': 'true' } });
  });
  after(() => sim.close());

  it('creates at most 50 new bundle deployments per reconcile (MaxNew)', async () => {
    const created = await sim.rancher(
      'POST',
      `/v1/fleet.cattle.io.helmops/${WS}`,
      helmOp('many', '4.12.0', charts),
    );
    assert.equal(created.status, 201);
    const first = await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/many`,
      (s) => s.summary?.desiredReady === 60,
      'first pass',
    );
    assert.equal(first.status.maxNew, 50);
    assert.equal(first.status.newlyCreated, 50);
    assert.equal(first.status.summary.pending, 10);
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/many`,
      (s) => s.summary?.ready === 60,
      'all ready',
      20_000,
    );
  });

  it('keeps at most maxUnavailable clusters unavailable while a new version rolls out', async () => {
    const current = (await sim.rancher('GET', `/v1/fleet.cattle.io.helmops/${WS}/many`)).body;
    current.spec.helm.version = '4.12.1';
    current.spec.rolloutStrategy = { maxUnavailable: '10%' };
    assert.equal((await sim.rancher('PUT', `/v1/fleet.cattle.io.helmops/${WS}/many`, current)).status, 200);
    let peak = 0;
    let sawOutOfSync = false;
    await waitFor(
      async () => {
        const status = (await sim.rancher('GET', `/v1/fleet.cattle.io.bundles/${WS}/many`)).body.status;
        if (status.maxUnavailable !== 6) return false;
        peak = Math.max(peak, status.unavailable);
        if (status.summary.outOfSync > 0) sawOutOfSync = true;
        const helmop = (await sim.rancher('GET', `/v1/fleet.cattle.io.helmops/${WS}/many`)).body;
        return helmop.status.version === '4.12.1' && status.summary.ready === 60;
      },
      { timeoutMs: 30_000, intervalMs: 50, what: 'the new version rolled out' },
    );
    assert.ok(peak > 0 && peak <= 6, `peak unavailable ${peak}`);
    assert.ok(sawOutOfSync, 'clusters waited OutOfSync for their turn');
  });
});

describe('Fleet on a v2.10 simulator (Fleet 0.11)', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.10.5', timings: QUICK, nodeTemplates: [TEMPLATE] });
    await sim.seed({ clusters: 2, labels: { 'paddock.io/managed': 'true' } });
  });
  after(() => sim.close());

  it('prunes helmOpOptions and helmAppOptions from a Bundle and deploys the chart its resources embed', async () => {
    const body = bundle('old', 'cinder-csi', '2.31.0', `${sim.url}/charts`);
    body.spec.helmOpOptions = {};
    body.spec.helmAppOptions = {};
    const created = await sim.rancher('POST', `/v1/fleet.cattle.io.bundles/${WS}`, body);
    assert.equal(created.status, 201);
    assert.equal(created.body.spec.helmOpOptions, undefined);
    assert.equal(created.body.spec.helmAppOptions, undefined);
    assert.equal((await sim.rancher('GET', '/v1/fleet.cattle.io.helmops')).status, 404);
    await waitForSummary(
      sim,
      `/v1/fleet.cattle.io.bundles/${WS}/old`,
      (s) => s.summary?.ready === 2,
      'ready',
    );
    const [bd] = await bundleDeployments(sim, 'old');
    assert.equal(bd.status.release, 'old/old:1');
  });
});

describe('Rancher with its fleet feature off', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ version: 'v2.10.5', timings: QUICK, fleet: false });
  });
  after(() => sim.close());

  it('serves no Fleet type', async () => {
    for (const type of ['bundles', 'helmops', 'clusters', 'bundledeployments'])
      assert.equal((await sim.rancher('GET', `/v1/fleet.cattle.io.${type}`)).status, 404, type);
  });
});
