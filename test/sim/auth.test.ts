/** Auth filter (§1.2, §1.3), probes (§1.5) and the headers every `/v3` answer carries (§2.5). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';
import { QUICK } from './fixtures';

const UNAUTHORIZED = { type: 'error', status: '401', message: 'Unauthorized 401: must authenticate' };
// The secret contains '?' and '>', so its standard base64 holds '+' and '/' (see the Basic tests).
const TOKEN = 'token-abcde:??>?bcdfghjklmnpqrstvwxz2456789bcdfghjklmnpqrstvwxz245';

describe('authentication', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ token: TOKEN, version: 'v2.11.9', timings: QUICK });
  });
  after(() => sim.close());

  const get = (path: string, authorization?: string) =>
    fetch(`${sim.url}${path}`, {
      headers: authorization === undefined ? {} : { Authorization: authorization },
    });

  it('answers /ping with pong without credentials', async () => {
    const response = await get('/ping');
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'pong');
  });

  it('accepts the bearer token, with the scheme in any case', async () => {
    assert.equal((await get('/v3/clusters', `Bearer ${TOKEN}`)).status, 200);
    assert.equal((await get('/v3/clusters', `bearer ${TOKEN}`)).status, 200);
  });

  it('accepts Basic with URL-safe base64 of name:secret', async () => {
    const urlSafe = Buffer.from(TOKEN).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    assert.equal((await get('/v3/clusters', `Basic ${urlSafe}`)).status, 200);
  });

  it('rejects Basic in the standard alphabet, as Go URL decoding does', async () => {
    const standard = Buffer.from(TOKEN).toString('base64');
    assert.match(standard, /[+/]/);
    const response = await get('/v3/clusters', `Basic ${standard}`);
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), UNAUTHORIZED);
  });

  for (const [what, header] of [
    ['no header', undefined],
    ['a wrong secret', 'Bearer token-abcde:wrong'],
    ['an unknown scheme', `Token ${TOKEN}`],
    ['a bare token', TOKEN],
  ] as const) {
    it(`answers 401 with the exact filter body for ${what}`, async () => {
      for (const path of ['/v3', '/v3/clusters', '/k8s/clusters/c-abcde/version', '/__sim/calls']) {
        const response = await get(path, header);
        assert.equal(response.status, 401, path);
        assert.deepEqual(await response.json(), UNAUTHORIZED, path);
      }
    });
  }

  it('reports the configured server version', async () => {
    const response = await get('/v3/settings/server-version', `Bearer ${TOKEN}`);
    assert.equal(response.status, 200);
    const body: any = await response.json();
    assert.equal(body.id, 'server-version');
    assert.equal(body.type, 'setting');
    assert.equal(body.value, 'v2.11.9');
  });

  it('serves GET /v3 with X-Api-Schemas and the norman Expires header', async () => {
    const response = await get('/v3', `Bearer ${TOKEN}`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-api-schemas'), `${sim.url}/v3/schemas`);
    assert.equal(response.headers.get('expires'), 'Wed 24 Feb 1982 18:42:00 GMT');
    const body: any = await response.json();
    assert.equal(body.links.clusters, `${sim.url}/v3/clusters`);
    const error = await get('/v3/clusters/c-nope', `Bearer ${TOKEN}`);
    assert.equal(error.headers.get('x-api-schemas'), `${sim.url}/v3/schemas`);
  });

  it('answers the cluster proxy 503 until the cluster is ready, 404 for unknown clusters', async () => {
    const created = await sim.rancher('POST', '/v3/clusters', {
      name: 'proxy',
      rancherKubernetesEngineConfig: {},
    });
    const response = await get(`/k8s/clusters/${created.body.id}/version`, `Bearer ${TOKEN}`);
    assert.equal(response.status, 503);
    assert.equal(JSON.parse(await response.text()).Code.Code, 'ClusterUnavailable');
    assert.equal((await get('/k8s/clusters/c-nope/version', `Bearer ${TOKEN}`)).status, 404);
  });
});
