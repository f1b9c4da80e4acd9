/**
 * The chart archive Paddock downloads for backends whose Fleet cannot (Rancher ≤ 2.11: the Bundle
 * embeds it): a Helm repository of the test's own on 127.0.0.1 serves an index whose entries point
 * at a good archive (by a relative URL), one whose digest is wrong, one on a port nobody listens
 * on, one over the download bound and one too large to embed in a Bundle. Each bad one is a 422
 * naming the chart field at catalog time, nothing written; a chart too large for a Bundle is
 * refused once a backend takes addons as Bundles, and a delivery to a backend that came later
 * fails with the reason on the rollout.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { tarGz } from '../../sim/fleet/charts';
import { startPaddock, TestPaddock, waitFor } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

const chartFiles = (name: string, extra: Array<[string, Buffer]> = []): Array<[string, string | Buffer]> => [
  [`${name}/Chart.yaml`, `apiVersion: v2\nname: ${name}\nversion: 1.0.0\n`],
  [`${name}/values.yaml`, 'replicaCount: 1\n'],
  [`${name}/templates/cm.yaml`, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n'],
  ...extra,
];

describe('chart archives downloaded for Bundles (a Helm repository on 127.0.0.1, Rancher 2.10)', () => {
  let repo: Server;
  let repoUrl: string;
  let sim: TestSimulator;
  let paddock: TestPaddock;
  const archives = new Map<string, Buffer>();

  before(async () => {
    archives.set('good', tarGz(chartFiles('good')));
    archives.set('baddigest', tarGz(chartFiles('baddigest')));
    // Random bytes do not compress: 4.5 MiB is over the 4 MiB download bound.
    archives.set(
      'huge',
      tarGz(chartFiles('huge', [['huge/files/blob.bin', randomBytes(4.5 * 1024 * 1024)]])),
    );
    // 900 KB of binary data base64-encodes past the 1,000,000-byte bound of a Bundle's resources.
    archives.set('big', tarGz(chartFiles('big', [['big/files/blob.bin', randomBytes(900_000)]])));
    repo = createServer((req, res) => {
      const path = (req.url ?? '').replace(/^\/charts\//, '');
      if (path === 'index.yaml') {
        res.writeHead(200, { 'Content-Type': 'application/x-yaml' });
        res.end(indexYaml());
        return;
      }
      const name = /^([a-z]+)-1\.0\.0\.tgz$/.exec(path)?.[1];
      const archive = name ? archives.get(name) : undefined;
      if (!archive) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/gzip' }).end(archive);
    });
    await new Promise<void>((resolve) => repo.listen(0, '127.0.0.1', resolve));
    repoUrl = `http://127.0.0.1:${(repo.address() as AddressInfo).port}/charts`;
    const indexYaml = () => {
      const entry = (name: string, url: string, digest: string) =>
        `  ${name}:\n  - apiVersion: v2\n    name: ${name}\n    version: 1.0.0\n    digest: ${digest}\n    urls:\n    - ${url}\n`;
      const sha = (name: string) => createHash('sha256').update(archives.get(name)!).digest('hex');
      return [
        'apiVersion: v1\nentries:\n',
        entry('good', 'good-1.0.0.tgz', sha('good')),
        entry('baddigest', `${repoUrl}/baddigest-1.0.0.tgz`, '0'.repeat(64)),
        entry('gone', 'http://127.0.0.1:9/gone-1.0.0.tgz', '0'.repeat(64)),
        entry('huge', `${repoUrl}/huge-1.0.0.tgz`, sha('huge')),
        entry('big', 'big-1.0.0.tgz', sha('big')),
      ].join('');
    };
    sim = await startTestSimulator({ version: 'v2.10.5', nodeTemplates: [{ name: 'm1.large' }] });
    paddock = await startPaddock();
  });

  after(async () => {
    await paddock?.close();
    await sim?.close();
    await new Promise((resolve) => repo?.close(resolve));
  });

  const addon = (name: string, chart: string) => ({
    name,
    chart: { repo: repoUrl, name: chart, version: '1.0.0' },
    namespace: name,
  });

  it('refuses a wrong digest, an unreachable archive and one over the download bound with 422, writing nothing', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['baddigest', 'CHART_DIGEST_MISMATCH', /the repository's index says 0{64}/],
      [
        'gone',
        'CHART_ARCHIVE_UNREADABLE',
        /127\.0\.0\.1:9\/gone-1\.0\.0\.tgz could not be downloaded: ECONNREFUSED/,
      ],
      ['huge', 'CHART_ARCHIVE_UNREADABLE', /larger than 4194304 bytes/],
    ];
    for (const [chart, code, detail] of cases) {
      const res = await paddock.request('POST', '/v1/admin/addons', addon(chart, chart));
      assert.equal(res.status, 422, `${chart}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, code, chart);
      assert.match(res.body.detail, detail);
      assert.equal(res.body.field, 'chart.version');
    }
    assert.equal((await paddock.db.query(`SELECT 1 FROM addons`)).rowCount, 0);
  });

  it('accepts a chart too large for a Bundle while no backend takes Bundles; a 2.10 backend added later reports the failed delivery', async () => {
    const created = await paddock.request('POST', '/v1/admin/addons', addon('big', 'big'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const registered = await paddock.registerBackend('old', sim);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const delivery = await waitFor('the delivery to the 2.10 backend failed', async () => {
      const r = (await paddock.request('GET', '/v1/admin/addons/big/rollout')).body;
      return r.perBackend?.[0]?.state === 'error' ? r.perBackend[0] : undefined;
    });
    assert.match(
      delivery.message,
      /big 1\.0\.0 embeds to \d+ bytes in a Fleet Bundle, over the 1000000-byte bound/,
    );
    const writes = (await sim.calls()).filter(
      (c) => c.method !== 'GET' && c.path.includes('fleet.cattle.io'),
    );
    assert.deepEqual(writes, [], 'no Bundle written');
  });

  it('refuses a chart too large for a Bundle with 422 CHART_TOO_LARGE once a backend takes Bundles', async () => {
    const res = await paddock.request('POST', '/v1/admin/addons', addon('big2', 'big'));
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.code, 'CHART_TOO_LARGE');
    assert.equal(res.body.field, 'chart.version');
  });

  it('embeds a good chart, found by a URL relative to the repository, in the Bundle', async () => {
    const created = await paddock.request('POST', '/v1/admin/addons', addon('good', 'good'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const bundle = await waitFor('the Bundle is written', async () => {
      const res = await sim.rancher('GET', '/v1/fleet.cattle.io.bundles/fleet-default/paddock-good');
      return res.status === 200 ? res.body : undefined;
    });
    const prefix = `.chart/${createHash('sha256').update(`good:${repoUrl}:1.0.0`).digest('hex')}/good`;
    assert.deepEqual(
      bundle.spec.resources.map((r: { name: string; encoding?: string }) => [r.name, r.encoding]),
      [
        [`${prefix}/Chart.yaml`, undefined],
        [`${prefix}/templates/cm.yaml`, undefined],
        [`${prefix}/values.yaml`, undefined],
      ],
    );
    assert.equal(bundle.spec.resources[0].content, 'apiVersion: v2\nname: good\nversion: 1.0.0\n');
  });
});
