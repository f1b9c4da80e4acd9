/**
 * Addons end to end on both backend kinds at once: one Paddock (real Postgres, Redis, workers)
 * with an rke1 backend (a simulated Rancher 2.11: Fleet Bundles that embed the chart Paddock
 * downloaded) and an rke2 backend (2.12: HelmOps), clusters created through the API, the simulator's Fleet moving
 * bundle deployments over time, and the chart versions checked against the simulator's Helm
 * repository at `<sim>/charts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clusterBody, startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

type Kind = 'rke1' | 'rke2';
const KINDS: Record<Kind, { version: string; region: string; fleetType: string }> = {
  rke1: { version: 'v2.11.3', region: 'r-rke1', fleetType: 'fleet.cattle.io.bundles' },
  rke2: { version: 'v2.12.3', region: 'r-rke2', fleetType: 'fleet.cattle.io.helmops' },
};
const PROJECT = 'addons';
const CLUSTERS_PER_KIND = 6;

describe('addons through Fleet (rke1 on 2.11 with Bundles embedding the chart, rke2 on 2.12 with HelmOps)', () => {
  const sims = {} as Record<Kind, TestSimulator>;
  let paddock: TestPaddock;
  const clusters: Record<Kind, string[]> = { rke1: [], rke2: [] };
  const chartRepo = () => `${sims.rke1.url}/charts`;

  const clusterPath = (name: string) => `/v1/projects/${PROJECT}/clusters/${name}`;
  const addonsOf = async (cluster: string): Promise<any[]> => {
    const res = await paddock.request('GET', `${clusterPath(cluster)}/addons`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items;
  };
  const addonOn = async (cluster: string, addon: string) =>
    (await addonsOf(cluster)).find((a) => a.addon === addon);
  const rollout = async (addon: string) => {
    const res = await paddock.request('GET', `/v1/admin/addons/${addon}/rollout`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const fleetObject = async (kind: Kind, addon: string) =>
    (await sims[kind].rancher('GET', `/v1/${KINDS[kind].fleetType}/fleet-default/paddock-${addon}`)).body;
  const waitForRollout = async (
    addon: string,
    done: (r: any) => boolean,
    what: string,
    timeoutMs = 60_000,
  ) => {
    let last: any;
    try {
      return await waitFor(
        what,
        async () => {
          last = await rollout(addon);
          return done(last) ? last : undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      // The rollout as last read, and each backend's Fleet status, say where it stopped.
      const fleet = await Promise.all(
        (['rke1', 'rke2'] as const).map(async (k) => (await fleetObject(k, addon)).status?.summary),
      );
      throw new Error(
        `${(error as Error).message}; last ${JSON.stringify(last)}; fleet ${JSON.stringify(fleet)}`,
      );
    }
  };
  const waitInstalled = (cluster: string, addon: string, version: string) =>
    waitFor(
      `${addon} ${version} installed on ${cluster}`,
      async () => {
        const row = await addonOn(cluster, addon);
        return row?.state === 'installed' && row.version === version ? row : undefined;
      },
      60_000,
    );

  async function createCluster(kind: Kind, name: string): Promise<void> {
    const created = await paddock.request(
      'POST',
      `/v1/projects/${PROJECT}/clusters`,
      clusterBody(name, { region: KINDS[kind].region }),
    );
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const op = await paddock.waitForOperation(created.body.operation.id, 60_000);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    clusters[kind].push(name);
  }

  const addonBody = (name: string, chart: string, version: string, extra: Record<string, unknown> = {}) => ({
    name,
    chart: { repo: chartRepo(), name: chart, version },
    namespace: name,
    values: { replicaCount: 1 },
    ...extra,
  });

  before(async () => {
    [sims.rke1, sims.rke2] = await Promise.all(
      (['rke1', 'rke2'] as const).map((k) =>
        startTestSimulator({ version: KINDS[k].version, nodeTemplates: [{ name: 'm1.large' }] }),
      ),
    );
    paddock = await startPaddock({ env: { PADDOCK_OPERATION_DEADLINE_MS: '60000' } });
    for (const kind of ['rke1', 'rke2'] as const) {
      const registered = await paddock.registerBackend(`sim-${kind}`, sims[kind], {
        region: KINDS[kind].region,
      });
      assert.equal(registered.status, 201, JSON.stringify(registered.body));
    }
    assert.equal((await paddock.request('POST', '/v1/admin/projects', { name: PROJECT })).status, 201);
    // Two clusters per kind before any addon exists; the rest come later (new clusters).
    await Promise.all(
      (['rke1', 'rke2'] as const).flatMap((kind) => [0, 1].map((i) => createCluster(kind, `${kind}-c${i}`))),
    );
  });

  after(async () => {
    await paddock?.close();
    await Promise.all(Object.values(sims).map((s) => s?.close()));
  });

  it('refuses bad input with a 400 naming the field, and an unlisted chart version with 422, writing nothing', async () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [addonBody('Bad_Name', 'ingress-nginx', '4.11.3'), 'name'],
      [addonBody('ok', 'ingress-nginx', 'latest'), 'chart.version'],
      [
        {
          ...addonBody('ok', 'ingress-nginx', '4.11.3'),
          chart: { repo: 'ftp://x/charts', name: 'ingress-nginx', version: '4.11.3' },
        },
        'chart.repo',
      ],
      // Shaped like a URL, yet no URL parser reads them (they used to reach the index read and 500).
      ...['http://[', 'http://%zz/charts', 'http://x.example:99999/charts'].map(
        (repo): [Record<string, unknown>, string] => [
          {
            ...addonBody('ok', 'ingress-nginx', '4.11.3'),
            chart: { repo, name: 'ingress-nginx', version: '4.11.3' },
          },
          'chart.repo',
        ],
      ),
      [addonBody('ok', 'ingress-nginx', '4.11.3', { namespace: 'Not A Namespace' }), 'namespace'],
      [addonBody('ok', 'ingress-nginx', '4.11.3', { rollout: { maxFailures: -1 } }), 'rollout.maxFailures'],
      [
        addonBody('ok', 'ingress-nginx', '4.11.3', { rollout: { maxUnavailable: 'many' } }),
        'rollout.maxUnavailable',
      ],
      [addonBody('ok', 'ingress-nginx', '4.11.3', { values: 'x' }), 'values'],
    ];
    for (const [body, field] of bad) {
      const res = await paddock.request('POST', '/v1/admin/addons', body);
      assert.equal(res.status, 400, `${field}: ${JSON.stringify(res.body)}`);
      assert.ok(
        res.body.errors.some((e: { field: string }) => e.field === field),
        `${field} named in ${JSON.stringify(res.body.errors)}`,
      );
    }
    const unlisted = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('ok', 'ingress-nginx', '9.9.9'),
    );
    assert.equal(unlisted.status, 422, JSON.stringify(unlisted.body));
    assert.equal(unlisted.body.code, 'CHART_VERSION_NOT_FOUND');
    const noChart = await paddock.request('POST', '/v1/admin/addons', addonBody('ok', 'nope', '1.0.0'));
    assert.equal(noChart.status, 422);
    assert.equal(noChart.body.code, 'CHART_NOT_FOUND');
    const noRepo = await paddock.request('POST', '/v1/admin/addons', {
      ...addonBody('ok', 'ingress-nginx', '1.0.0'),
      chart: { repo: 'http://127.0.0.1:9/charts', name: 'ingress-nginx', version: '1.0.0' },
    });
    assert.equal(noRepo.status, 422);
    assert.equal(noRepo.body.code, 'CHART_REPO_UNREADABLE');
    assert.equal((await paddock.db.query(`SELECT 1 FROM addons`)).rowCount, 0);
  });

  it('a required addon is installed on every existing cluster of both kinds, and on new ones', async () => {
    const created = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('ingress', 'ingress-nginx', '4.11.3', {
        required: true,
        rollout: { maxUnavailable: '50%', maxFailures: 1 },
      }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.state, 'active');
    // Read at once, before a sync gave the addon any delivery: not done (0 of 0 is not a rollout
    // that finished, and `--wait` must not end here).
    const fresh = await rollout('ingress');
    assert.equal(fresh.state, 'running', JSON.stringify(fresh));
    for (const kind of ['rke1', 'rke2'] as const)
      for (const c of clusters[kind]) await waitInstalled(c, 'ingress', '4.11.3');
    // One Fleet object per backend, of the kind its Fleet has.
    const bundle = await fleetObject('rke1', 'ingress');
    assert.equal(bundle.kind, 'Bundle');
    assert.equal(bundle.spec.helmOpOptions, undefined);
    // The chart's files, where `fleet apply` puts a downloaded chart and the agent looks for it.
    const names = bundle.spec.resources.map((r: { name: string }) => r.name);
    assert.ok(
      names.some((n: string) => /^\.chart\/[0-9a-f]{64}\/ingress-nginx\/Chart\.yaml$/.test(n)),
      JSON.stringify(names),
    );
    assert.equal((await fleetObject('rke2', 'ingress')).kind, 'HelmOp');

    // New clusters: no call per addon; the label they are created with selects them.
    await Promise.all(
      (['rke1', 'rke2'] as const).flatMap((kind) =>
        Array.from({ length: CLUSTERS_PER_KIND - 2 }, (_, i) => createCluster(kind, `${kind}-c${i + 2}`)),
      ),
    );
    for (const kind of ['rke1', 'rke2'] as const)
      for (const c of clusters[kind]) await waitInstalled(c, 'ingress', '4.11.3');
    const r = await waitForRollout('ingress', (x) => x.state === 'completed', 'ingress completed');
    assert.equal(r.total, 2 * CLUSTERS_PER_KIND);
    assert.equal(r.ready, 2 * CLUSTERS_PER_KIND);
  });

  it('a required addon cannot be opted out of or into (409 ADDON_REQUIRED)', async () => {
    const c = clusters.rke1[0];
    for (const method of ['PUT', 'DELETE']) {
      const res = await paddock.request(
        method,
        `${clusterPath(c)}/addons/ingress`,
        method === 'PUT' ? {} : undefined,
      );
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.code, 'ADDON_REQUIRED');
    }
  });

  it('an optional addon installs by opt-in (with per-cluster values) and uninstalls by opt-out, on both kinds', async () => {
    const created = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('svc', 'service-operator', '1.0.0'),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const kind of ['rke1', 'rke2'] as const) {
      const [target, other] = clusters[kind];
      const put = await paddock.request('PUT', `${clusterPath(target)}/addons/svc`, {
        values: { tier: 'gold' },
      });
      assert.equal(put.status, 202, JSON.stringify(put.body));
      assert.equal(put.headers.get('location'), `/v1/operations/${put.body.id}`);
      const op = await paddock.waitForOperation(put.body.id, 60_000);
      assert.equal(op.state, 'succeeded', JSON.stringify(op));
      assert.deepEqual(
        op.steps.map((s: { name: string }) => s.name),
        ['label-addon', 'apply-addon', 'await-addon'],
      );
      const row = await addonOn(target, 'svc');
      assert.equal(row.state, 'installed');
      assert.deepEqual(row.values, { tier: 'gold' });
      assert.equal(await addonOn(other, 'svc'), undefined, 'a cluster that did not opt in has no svc');
      // The per-cluster values travel as a target of their own, before the selector.
      const object = await fleetObject(kind, 'svc');
      assert.equal(object.spec.targets.length, 2);
      assert.deepEqual(object.spec.targets[0].helm.values, { tier: 'gold' });

      const del = await paddock.request('DELETE', `${clusterPath(target)}/addons/svc`);
      assert.equal(del.status, 202, JSON.stringify(del.body));
      const removed = await paddock.waitForOperation(del.body.id, 60_000);
      assert.equal(removed.state, 'succeeded', JSON.stringify(removed));
      assert.equal(await addonOn(target, 'svc'), undefined);
      assert.equal((await fleetObject(kind, 'svc')).spec.targets.length, 1);
    }
    const again = await paddock.request('DELETE', `${clusterPath(clusters.rke1[0])}/addons/svc`);
    assert.equal(again.status, 404, JSON.stringify(again.body));
  });

  it('a new version rolls out to all 12 clusters with the right per-backend counts, one update per backend', async () => {
    await Promise.all(Object.values(sims).map((s) => s.clearCalls()));
    const patched = await paddock.request('PATCH', '/v1/admin/addons/ingress', {
      chart: { repo: chartRepo(), name: 'ingress-nginx', version: '4.12.0' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const done = await waitForRollout(
      'ingress',
      (r) => r.version === '4.12.0' && r.state === 'completed',
      'rollout of 4.12.0 completed',
    );
    assert.equal(done.total, 12);
    assert.equal(done.ready, 12);
    assert.equal(done.failed, 0);
    assert.deepEqual(
      done.perBackend.map((b: any) => [
        b.backend,
        b.delivery,
        b.state,
        b.total,
        b.ready,
        b.failed,
        b.pending,
      ]),
      [
        ['sim-rke1', 'bundle', 'applied', 6, 6, 0, 0],
        ['sim-rke2', 'helmop', 'applied', 6, 6, 0, 0],
      ],
    );
    for (const kind of ['rke1', 'rke2'] as const) {
      const writes = (await sims[kind].calls()).filter(
        (c) => c.method !== 'GET' && c.path.includes('fleet.cattle.io'),
      );
      assert.deepEqual(
        writes.map((c) => `${c.method} ${c.path}`),
        [`PUT /v1/${KINDS[kind].fleetType}/fleet-default/paddock-ingress`],
        `one update of the Fleet object on ${kind}`,
      );
    }
  });

  it('a -fail version pauses after maxFailures with the failed clusters named; resume and a fixed version complete it', async () => {
    const patched = await paddock.request('PATCH', '/v1/admin/addons/ingress', {
      chart: { repo: chartRepo(), name: 'ingress-nginx', version: '4.13.0-fail' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const paused = await waitForRollout('ingress', (r) => r.state === 'paused', 'rollout paused');
    assert.ok(paused.failed > 1, `more than maxFailures (1) failed: ${paused.failed}`);
    assert.equal(paused.failedClusters.length, paused.failed);
    for (const f of paused.failedClusters) {
      assert.equal(f.project, PROJECT);
      assert.ok([...clusters.rke1, ...clusters.rke2].includes(f.cluster));
      assert.match(f.message, /pre-install hook/);
    }
    for (const kind of ['rke1', 'rke2'] as const)
      await waitFor(
        `spec.paused on ${kind}`,
        async () => (await fleetObject(kind, 'ingress')).spec.paused === true,
      );
    const failedCluster = paused.failedClusters[0].cluster;
    const row = await addonOn(failedCluster, 'ingress');
    assert.equal(row.state, 'failed');
    assert.match(row.message, /pre-install hook/);

    const resumed = await paddock.request('POST', '/v1/admin/addons/ingress/rollout/resume');
    assert.equal(resumed.status, 202, JSON.stringify(resumed.body));
    assert.notEqual(resumed.body.state, 'paused');
    for (const kind of ['rke1', 'rke2'] as const)
      await waitFor(
        `spec.paused off on ${kind}`,
        async () => (await fleetObject(kind, 'ingress')).spec.paused === false,
      );
    const notPaused = await paddock.request('POST', '/v1/admin/addons/ingress/rollout/resume');
    assert.equal(notPaused.status, 409);
    assert.equal(notPaused.body.code, 'ROLLOUT_NOT_PAUSED');

    // The fixed version supersedes the failed one. The failed clusters count as unavailable and
    // fill maxUnavailable, but Fleet moves an unavailable deployment whatever the count: the fix
    // reaches them first, then the healthy ones follow within maxUnavailable.
    const fixed = await paddock.request('PATCH', '/v1/admin/addons/ingress', {
      chart: { repo: chartRepo(), name: 'ingress-nginx', version: '4.12.1' },
    });
    assert.equal(fixed.status, 200);
    const done = await waitForRollout(
      'ingress',
      (r) => r.version === '4.12.1' && r.state === 'completed',
      'rollout of 4.12.1 completed',
    );
    assert.equal(done.ready, 12);
    assert.deepEqual(done.failedClusters, []);
  });

  it('a bundle deployment broken behind Paddock’s back is reported on the cluster and in /metrics', async () => {
    for (const kind of ['rke1', 'rke2'] as const) {
      const cluster = clusters[kind][1];
      const { rows } = await paddock.db.query(`SELECT rancher_id FROM clusters WHERE name = $1`, [cluster]);
      const fleetName = kind === 'rke1' ? rows[0].rancher_id : rows[0].rancher_id.split('/')[1];
      const fleetCluster = (
        await sims[kind].rancher('GET', `/v1/fleet.cattle.io.clusters/fleet-default/${fleetName}`)
      ).body;
      const broke = await sims[kind].rancher('POST', '/__sim/fleet/break', {
        id: `${fleetCluster.status.namespace}/paddock-ingress`,
        state: 'Modified',
        message: 'deployment ingress-controller scaled to 0 by hand',
      });
      assert.equal(broke.status, 200, JSON.stringify(broke.body));
      const row = await waitFor(`ingress failed on ${cluster}`, async () => {
        const r = await addonOn(cluster, 'ingress');
        return r?.state === 'failed' ? r : undefined;
      });
      assert.match(row.message, /scaled to 0 by hand/);
      const metrics = await fetch(`${paddock.url}/metrics`).then((r) => r.text());
      assert.match(
        metrics,
        new RegExp(
          `paddock_addon_not_ready\\{project="${PROJECT}",cluster="${cluster}",addon="ingress"\\} 1`,
        ),
      );
      assert.match(metrics, /paddock_addon_installs\{addon="ingress",version="4.12.1",state="failed"\} [12]/);
    }
  });

  it('an opt-in with values of its own succeeds only once the cluster runs the release with those values', async () => {
    const created = await paddock.request(
      'POST',
      '/v1/admin/addons',
      addonBody('late', 'service-operator', '1.0.0'),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor('late delivered on rke2', async () =>
      (await sims.rke2.rancher('GET', `/v1/${KINDS.rke2.fleetType}/fleet-default/paddock-late`)).status ===
      200
        ? true
        : undefined,
    );
    // The Fleet object cannot take the cluster's values yet: the label alone makes Fleet install
    // the release without them, and the sync reads that as installed.
    const helmops = KINDS.rke2.fleetType.replace(/\./g, '\\.');
    const noPut = { method: 'PUT', path: `^/v1/${helmops}/fleet-default/paddock-late$`, status: 503 };
    // The sync's one read of the backend's addon counts; failed, it reads no state at all.
    const noSync = { method: 'GET', path: `^/v1/${helmops}/fleet-default$`, status: 503 };
    await sims.rke2.faults.add(noPut);
    const target = clusters.rke2[1];
    const put = await paddock.request('PUT', `${clusterPath(target)}/addons/late`, {
      values: { tier: 'gold' },
    });
    assert.equal(put.status, 202, JSON.stringify(put.body));
    await waitFor(`late installed on ${target} without its values`, async () =>
      (await addonOn(target, 'late'))?.state === 'installed' ? true : undefined,
    );
    // Now apply-addon writes the values while the sync reads nothing: the installed state on
    // record is the one read before that write, and await-addon must not take it.
    await sims.rke2.faults.clear();
    await sims.rke2.faults.add(noSync);
    await waitFor('await-addon looked at least twice, or the operation ended', async () => {
      const { rows } = await paddock.db.query(
        `SELECT o.state, s.attempts FROM operations o
         LEFT JOIN operation_steps s ON s.operation_id = o.id AND s.name = 'await-addon'
         WHERE o.id = $1`,
        [put.body.id],
      );
      return rows[0].state !== 'running' || rows[0].attempts >= 2 ? true : undefined;
    });
    const during = await paddock.request('GET', `/v1/operations/${put.body.id}`);
    assert.equal(during.body.state, 'running', JSON.stringify(during.body));
    await sims.rke2.faults.clear();

    const op = await paddock.waitForOperation(put.body.id, 60_000);
    assert.equal(op.state, 'succeeded', JSON.stringify(op));
    // At the answer, the agent has applied the deployment that carries the cluster's values.
    const selector = encodeURIComponent('fleet.cattle.io/bundle-name=paddock-late');
    const bds = (
      await sims.rke2.rancher('GET', `/v1/fleet.cattle.io.bundledeployments?labelSelector=${selector}`)
    ).body.data;
    assert.equal(bds.length, 1);
    assert.equal(bds[0].spec.options.helm.values.tier, 'gold', JSON.stringify(bds[0].spec));
    assert.equal(bds[0].status.appliedDeploymentID, bds[0].spec.deploymentID, JSON.stringify(bds[0].status));
    assert.equal(bds[0].status.ready, true, JSON.stringify(bds[0].status));
    assert.equal((await addonOn(target, 'late')).state, 'installed');
  });

  it('deleting an addon removes it from every cluster, then from the catalog', async () => {
    const res = await paddock.request('DELETE', '/v1/admin/addons/svc');
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.state, 'deleting');
    await waitFor('svc gone from the catalog', async () =>
      (await paddock.request('GET', '/v1/admin/addons/svc')).status === 404 ? true : undefined,
    );
    for (const kind of ['rke1', 'rke2'] as const)
      assert.equal(
        (await sims[kind].rancher('GET', `/v1/${KINDS[kind].fleetType}/fleet-default/paddock-svc`)).status,
        404,
      );
  });
});
