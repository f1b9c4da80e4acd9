/**
 * The HTTP-outcome → `BackendError` table, checked directly (pure functions, no HTTP), plus the
 * wire → domain mappers on the documented example objects (rancher-api.md §3.2a, §4.2, §4.3).
 */

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CallSite,
  HttpMethod,
  classifyHttpError,
  classifyTransportError,
  parseRetryAfter,
} from '../../src/rancher-backends/backend.errors';
import { TokenBucket } from '../../src/rancher-backends/token-bucket';
import {
  plainKubernetesVersion,
  toRemoteCluster,
  toRemoteNode,
  toRemoteNodePool,
} from '../../src/rancher-backends/wire/v3.types';

const site = (method: HttpMethod, route = '/v3/clusters', path = route): CallSite => ({
  backend: 'b',
  method,
  route,
  path,
});
const none = (t: string) => t;

describe('error classification', () => {
  const table: Array<[HttpMethod, string, number, unknown, string, boolean, boolean]> = [
    // method, route, status, body, kind, retryable, ambiguous
    [
      'GET',
      '/v3/clusters',
      401,
      { type: 'error', status: '401', message: 'Unauthorized 401: must authenticate' },
      'unauthorized',
      false,
      false,
    ],
    [
      'POST',
      '/v3/nodepools',
      403,
      { status: 403, code: 'Forbidden', message: 'nodepools is forbidden' },
      'permission-window',
      true,
      false,
    ],
    [
      'POST',
      '/v3/clusters',
      403,
      { status: 403, code: 'PermissionDenied', message: 'can not create cluster' },
      'forbidden',
      false,
      false,
    ],
    ['GET', '/v3/clusters/:id', 404, { status: 404, code: 'NotFound' }, 'not-found', false, false],
    ['PUT', '/v3/nodepools/:id', 409, { status: 409, code: 'Conflict' }, 'conflict', true, false],
    [
      'POST',
      '/v3/clusterregistrationtokens',
      409,
      { status: 409, code: 'AlreadyExists' },
      'conflict',
      false,
      false,
    ],
    [
      'POST',
      '/v3/clusters',
      422,
      { status: 422, code: 'NotUnique', fieldName: 'Cluster name', message: '' },
      'invalid',
      false,
      false,
    ],
    ['POST', '/v3/clusters', 400, { message: 'none existent Cluster' }, 'invalid', false, false],
    ['GET', '/v3/clusters', 429, { status: 429, code: 'TooManyRequests' }, 'rate-limited', true, false],
    [
      'GET',
      '/v3/clusters',
      500,
      { status: 500, code: 'ServerError', message: 'etcd timeout' },
      'server',
      true,
      false,
    ],
    [
      'POST',
      '/v3/clusters',
      500,
      { status: 500, code: 'ServerError', message: 'the object has been modified' },
      'server',
      true,
      true,
    ],
    [
      'POST',
      '/v3/clusters',
      500,
      {
        status: 500,
        code: 'ServerError',
        message: 'Requested kubernetesVersion v1.2.3 is not supported currently',
      },
      'invalid',
      false,
      false,
    ],
    ['POST', '/v3/clusters', 500, { message: 'failed to update cluster object' }, 'server', true, true],
    ['GET', '/v3/clusters', 502, '<html>bad gateway</html>', 'unavailable', true, false],
    [
      'DELETE',
      '/v3/clusters/:id',
      503,
      { status: 503, code: 'ClusterUnavailable' },
      'unavailable',
      true,
      true,
    ],
    ['GET', '/v3/clusters', 504, '', 'unavailable', true, false],
    ['GET', '/v3/clusters', 302, '', 'unexpected-response', false, false],
  ];
  for (const [method, route, status, body, kind, retryable, ambiguous] of table) {
    test(`${method} ${route} ${status} → ${kind}`, () => {
      const error = classifyHttpError(
        site(method, route),
        status,
        typeof body === 'string' ? body : JSON.stringify(body),
        undefined,
        none,
      );
      assert.equal(error.kind, kind);
      assert.equal(error.retryable, retryable);
      assert.equal(error.ambiguous, ambiguous);
      assert.equal(error.status, status);
    });
  }

  test('keeps Rancher code, field and message; tolerates the 401 shape', () => {
    const e = classifyHttpError(
      site('POST'),
      422,
      JSON.stringify({ code: 'InvalidFormat', fieldName: 'name', message: 'InvalidFormat 422: bad' }),
      undefined,
      none,
    );
    assert.equal(e.rancherCode, 'InvalidFormat');
    assert.equal(e.fieldName, 'name');
    assert.equal(e.detail, 'InvalidFormat 422: bad');
    const u = classifyHttpError(
      site('GET'),
      401,
      '{"type":"error","status":"401","message":"Unauthorized 401: must authenticate"}',
      undefined,
      none,
    );
    assert.equal(u.rancherCode, undefined);
    assert.match(u.message, /must authenticate/);
  });

  test('transport failures', () => {
    const refused = classifyTransportError(
      site('POST'),
      'ECONNREFUSED',
      false,
      1000,
      'connect ECONNREFUSED',
      none,
    );
    assert.deepEqual([refused.kind, refused.retryable, refused.ambiguous], ['network', true, false]);
    const reset = classifyTransportError(site('POST'), 'ECONNRESET', false, 1000, 'socket hang up', none);
    assert.deepEqual([reset.kind, reset.retryable, reset.ambiguous], ['network', true, true]);
    const readReset = classifyTransportError(site('GET'), 'ECONNRESET', false, 1000, 'socket hang up', none);
    assert.equal(readReset.ambiguous, false);
    const timeout = classifyTransportError(site('PUT'), undefined, true, 1000, 'aborted', none);
    assert.deepEqual([timeout.kind, timeout.retryable, timeout.ambiguous], ['timeout', true, true]);
    const tls = classifyTransportError(
      site('GET'),
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      false,
      1000,
      'self signed',
      none,
    );
    assert.deepEqual([tls.kind, tls.retryable], ['network', false]);
  });

  test('Retry-After as seconds or date', () => {
    assert.equal(parseRetryAfter('3'), 3);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const at = new Date(Date.now() + 5_000).toUTCString();
    const parsed = parseRetryAfter(at);
    assert.ok(parsed !== undefined && parsed >= 3 && parsed <= 6);
  });
});

describe('wire mapping', () => {
  test('cluster', () => {
    const c = toRemoteCluster({
      id: 'c-abcde',
      name: 'prod-a',
      labels: { team: 'web' },
      state: 'active',
      transitioning: 'no',
      transitioningMessage: '',
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Odd', status: 'maybe' },
      ],
      nodeCount: 3,
      rancherKubernetesEngineConfig: { kubernetesVersion: 'v1.30.14-rancher1-1' },
    });
    assert.deepEqual(c, {
      id: 'c-abcde',
      name: 'prod-a',
      labels: { team: 'web' },
      state: 'active',
      transitioning: 'no',
      message: '',
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Odd', status: 'Unknown' },
      ],
      removing: false,
      nodeCount: 3,
      kubernetesVersion: 'v1.30.14',
      // An RKE1 cluster is its own management cluster.
      managementId: 'c-abcde',
    });
    assert.equal(toRemoteCluster({ id: 'c-x', state: 'removing' }).removing, true);
    assert.equal(toRemoteCluster({ id: 'c-x' }).kubernetesVersion, null);
    assert.equal(plainKubernetesVersion('1.29.1'), 'v1.29.1');
  });

  test('node pool keeps its conditions under status', () => {
    const p = toRemoteNodePool({
      id: 'c-abcde:np-x7k2p',
      hostnamePrefix: 'w-',
      quantity: 3,
      worker: true,
      nodeTemplateId: 'cattle-global-nt:nt-2bq8d',
      status: { conditions: [{ type: 'Updated', status: 'True' }] },
    });
    assert.equal(p.clusterId, 'c-abcde');
    assert.deepEqual(p.roles, { etcd: false, controlPlane: false, worker: true });
    assert.deepEqual(p.conditions, [{ type: 'Updated', status: 'True' }]);
  });

  test('node falls back through hostname fields', () => {
    const n = toRemoteNode({
      id: 'c-abcde:m-4hxzq',
      requestedHostname: 'w-1',
      nodePoolId: '',
      ipAddress: '',
    });
    assert.equal(n.hostname, 'w-1');
    assert.equal(n.nodePoolId, null);
    assert.equal(n.ipAddress, null);
    assert.equal(n.clusterId, 'c-abcde');
  });
});

describe('token bucket', () => {
  test('allows the burst at once, then the rate', async () => {
    const bucket = new TokenBucket(50, 5);
    const started = performance.now();
    for (let i = 0; i < 15; i++) await bucket.acquire();
    const elapsed = performance.now() - started;
    // A busy machine can only make this slower, so only the floor is asserted on real time.
    assert.ok(elapsed >= 190, `10 calls beyond the burst at 50/s took ${elapsed} ms`);
    const unlimited = new TokenBucket(0, 1);
    assert.equal(unlimited.unlimited, true);
  });

  test('each caller beyond the burst waits exactly until its own token is refilled', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const bucket = new TokenBucket(50, 5, {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    for (let i = 0; i < 8; i++) await bucket.acquire();
    // Five from the burst, then one token every 20 ms, reserved in arrival order.
    assert.deepEqual(waits, [20, 40, 60]);
    // After 100 ms idle the balance (-3) has refilled to +2: two go at once, the third waits 20 ms.
    now += 100;
    waits.length = 0;
    for (let i = 0; i < 3; i++) await bucket.acquire();
    assert.deepEqual(waits, [20]);
    // A long idle refills only up to the burst.
    now += 60_000;
    waits.length = 0;
    for (let i = 0; i < 6; i++) await bucket.acquire();
    assert.deepEqual(waits, [20]);
  });
});
