/**
 * Every failure the simulator can inject, and what the client makes of it: which errors are
 * retried inside the client (safe calls only), which are handed to the caller, and which are
 * flagged ambiguous so the caller looks up before creating again.
 */

import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError } from '../../src/rancher-backends/backend.errors';
import type { BackendDriver } from '../../src/rancher-backends/backend-driver';
import {
  TestSimulator,
  all,
  callsOf,
  driverFor,
  rejection,
  startTestSimulator,
  waitFor,
} from '../support/simulator';

describe('fault handling', () => {
  let sim: TestSimulator;
  let driver: BackendDriver & { close(): void };

  before(async () => {
    sim = await startTestSimulator({
      nodeTemplates: [{ name: 'm1.large' }],
      timings: { permissionWindowMs: 600 },
    });
    // The breaker is tested on its own below; here it would only get in the way.
    driver = driverFor(sim, { circuitBreaker: false, timeoutMs: 400 });
  });
  after(async () => {
    driver.close();
    await sim.close();
  });
  beforeEach(async () => {
    await sim.faults.clear();
    await sim.clearCalls();
  });

  test('a 5xx on a read is retried and succeeds', async () => {
    await sim.faults.add({ method: 'GET', path: '^/v3/clusters$', status: 500, times: 2 });
    const clusters = await all(driver.clusterPages());
    assert.ok(Array.isArray(clusters));
    const gets = callsOf(await sim.calls(), 'GET', /^\/v3\/clusters$/);
    assert.deepEqual(
      gets.map((c) => c.status),
      [500, 500, 200],
    );
  });

  test('a 503 on a read is retried; reads give up after the retry budget', async () => {
    await sim.faults.add({ method: 'GET', path: '^/v3/nodes$', status: 503, times: 10 });
    const error = await rejection(() => all(driver.nodePages()));
    assert.equal(error.kind, 'unavailable');
    assert.equal(error.retryable, true);
    assert.equal(error.ambiguous, false, 'a read changes nothing');
    assert.equal(callsOf(await sim.calls(), 'GET', /^\/v3\/nodes$/).length, 4, 'one call plus three retries');
  });

  test('a 5xx on a create is retryable for the caller but never retried here', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', status: 500, times: 1 });
    const error = await rejection(() => driver.createCluster({ name: 'five-hundred', labels: {} }));
    assert.ok(error instanceof BackendError);
    assert.equal(error.kind, 'server');
    assert.equal(error.retryable, true);
    assert.equal(error.ambiguous, true, 'a 5xx after sending a write may hide an applied change');
    assert.equal(callsOf(await sim.calls(), 'POST', /^\/v3\/clusters$/).length, 1);
    // Injected faults are not applied: the caller's look-up finds nothing and may create again.
    assert.equal(await driver.findClusterByName('five-hundred'), null);
    const created = await driver.createCluster({ name: 'five-hundred', labels: {} });
    assert.equal(created.name, 'five-hundred');
  });

  test('a slow answer is a timeout, ambiguous for writes', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', delayMs: 1_500, times: 1 });
    const started = Date.now();
    const error = await rejection(() => driver.createCluster({ name: 'slowpoke', labels: {} }));
    assert.ok(Date.now() - started < 1_400, 'the client gave up at its own deadline');
    assert.equal(error.kind, 'timeout');
    assert.equal(error.retryable, true);
    assert.equal(error.ambiguous, true);
    // The server finishes the slow create after the client gave up: exactly the ambiguity the
    // caller resolves with a look-up.
    const applied = await waitFor(() => driver.findClusterByName('slowpoke'));
    assert.equal(applied.name, 'slowpoke');
    assert.equal(callsOf(await sim.calls(), 'POST', /^\/v3\/clusters$/).length, 1);
  });

  test('a slow read times out per attempt and is retried', async () => {
    await sim.faults.add({ method: 'GET', path: '^/v3/settings/server-version$', delayMs: 1_000, times: 1 });
    const probe = await driver.probe();
    assert.match(probe.version, /^v2\./);
    // The simulator logs the slow call when it finally answers (to nobody).
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(callsOf(await sim.calls(), 'GET', /^\/v3\/settings\/server-version$/).length, 2);
  });

  test('a create whose answer is lost is ambiguous, and the look-up prevents a duplicate', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', dropResponse: true, times: 1 });
    const error = await rejection(() => driver.createCluster({ name: 'dropped', labels: {} }));
    assert.equal(error.kind, 'network');
    assert.equal(error.retryable, true);
    assert.equal(error.ambiguous, true);
    // What a provisioning step does next: look up, create only if absent.
    const found =
      (await driver.findClusterByName('dropped')) ??
      (await driver.createCluster({ name: 'dropped', labels: {} }));
    assert.equal(found.name, 'dropped');
    const all = await sim.rancher('GET', '/v3/clusters?limit=-1');
    assert.equal(all.body.data.filter((c: { name: string }) => c.name === 'dropped').length, 1);
    assert.equal(callsOf(await sim.calls(), 'POST', /^\/v3\/clusters$/).length, 1);
  });

  test('a dropped answer on an idempotent delete is retried and succeeds', async () => {
    const cluster = await driver.createCluster({ name: 'drop-delete', labels: {} });
    await sim.faults.add({ method: 'DELETE', path: '^/v3/clusters/', dropResponse: true, times: 1 });
    await driver.deleteCluster(cluster.id);
    const deletes = callsOf(await sim.calls(), 'DELETE', /^\/v3\/clusters\//);
    assert.equal(deletes.length, 2);
    assert.equal(await driver.findClusterByName('drop-delete'), null);
  });

  test('the node-pool permission window is retryable and passes', async () => {
    const templateId = sim.nodeTemplates[0].id;
    const cluster = await driver.createCluster({ name: 'window', labels: {} });
    const spec = {
      clusterId: cluster.id,
      hostnamePrefix: 'window-',
      quantity: 1,
      roles: { etcd: true, controlPlane: true, worker: true },
      nodeTemplateId: templateId,
      labels: {},
    };
    const error = await rejection(() => driver.createNodePool(spec));
    assert.equal(error.kind, 'permission-window');
    assert.equal(error.retryable, true);
    assert.equal(error.status, 403);
    assert.equal(
      callsOf(await sim.calls(), 'POST', /^\/v3\/nodepools$/).length,
      1,
      'not retried inside the client',
    );
    await new Promise((r) => setTimeout(r, 700));
    const pool = await driver.createNodePool(spec);
    assert.equal(pool.clusterId, cluster.id);
  });

  test('a 403 elsewhere is forbidden and final', async () => {
    await sim.faults.add({ method: 'DELETE', path: '^/v3/nodepools/', status: 403, times: 1 });
    const error = await rejection(() => driver.deleteNodePool('c-abcde:np-abcde'));
    assert.equal(error.kind, 'forbidden');
    assert.equal(error.retryable, false);
  });

  test('a 429 is rate-limited, honours Retry-After when given, and is retried for reads', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', status: 429, times: 1 });
    const error = await rejection(() => driver.createCluster({ name: 'throttled', labels: {} }));
    assert.equal(error.kind, 'rate-limited');
    assert.equal(error.retryable, true);
    assert.equal(error.ambiguous, false);
    if (error.retryAfterSeconds !== undefined) assert.ok(error.retryAfterSeconds >= 0);

    await sim.faults.add({ method: 'GET', path: '^/v3/nodepools$', status: 429, times: 1 });
    assert.ok(Array.isArray(await all(driver.nodePoolPages())));
    assert.deepEqual(
      callsOf(await sim.calls(), 'GET', /^\/v3\/nodepools$/).map((c) => c.status),
      [429, 200],
    );
  });

  test('a 409 on a scale (merge PUT) is retried', async () => {
    const templateId = sim.nodeTemplates[0].id;
    const cluster = await driver.createCluster({ name: 'conflicted', labels: {} });
    await new Promise((r) => setTimeout(r, 700));
    const pool = await driver.createNodePool({
      clusterId: cluster.id,
      hostnamePrefix: 'conflicted-',
      quantity: 1,
      roles: { etcd: true, controlPlane: true, worker: true },
      nodeTemplateId: templateId,
      labels: {},
    });
    await sim.faults.add({ method: 'PUT', path: '^/v3/nodepools/', status: 409, times: 1 });
    const scaled = await driver.scaleNodePool(pool.id, 3);
    assert.equal(scaled.quantity, 3);
    assert.deepEqual(
      callsOf(await sim.calls(), 'PUT', /^\/v3\/nodepools\//).map((c) => c.status),
      [409, 200],
    );
  });

  test('a 404 on a read is final and not retried', async () => {
    assert.equal(await driver.getCluster('c-zzzzz'), null);
    assert.equal(callsOf(await sim.calls(), 'GET', /^\/v3\/clusters\/c-zzzzz$/).length, 1);
  });
});

describe('circuit breaker', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
  });
  after(async () => {
    await sim.close();
  });

  test('opens after consecutive failures, fails fast, closes after recovery', async () => {
    const driver = driverFor(sim, {
      retries: 0,
      circuitBreaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 },
    });
    try {
      await sim.faults.add({ method: 'GET', path: '^/v3/clusters$', status: 502, times: 3 });
      for (let i = 0; i < 3; i++) {
        const error = await rejection(() => all(driver.clusterPages()));
        assert.equal(error.kind, 'unavailable');
      }
      await sim.clearCalls();
      const fast = await rejection(() => all(driver.clusterPages()));
      assert.equal(fast.kind, 'circuit-open');
      assert.equal(fast.retryable, true);
      assert.equal((await sim.calls()).length, 0, 'an open circuit sends nothing');
      // 4xx answers are the server working: they do not open the circuit (checked after recovery).
      await new Promise((r) => setTimeout(r, 350));
      const recovered = await all(driver.clusterPages());
      assert.ok(Array.isArray(recovered));
      for (let i = 0; i < 5; i++) assert.equal(await driver.getCluster('c-zzzzz'), null);
      assert.ok(Array.isArray(await all(driver.clusterPages())));
    } finally {
      driver.close();
    }
  });

  test('a failed trial call opens the circuit again', async () => {
    const driver = driverFor(sim, {
      retries: 0,
      circuitBreaker: { consecutiveFailures: 2, halfOpenAfterMs: 200 },
    });
    try {
      await sim.faults.add({ method: 'GET', path: '^/v3/nodes$', status: 500, times: 3 });
      await rejection(() => all(driver.nodePages()));
      await rejection(() => all(driver.nodePages()));
      assert.equal((await rejection(() => all(driver.nodePages()))).kind, 'circuit-open');
      await new Promise((r) => setTimeout(r, 250));
      assert.equal(
        (await rejection(() => all(driver.nodePages()))).kind,
        'server',
        'the trial call goes out',
      );
      assert.equal((await rejection(() => all(driver.nodePages()))).kind, 'circuit-open');
      await new Promise((r) => setTimeout(r, 250));
      assert.ok(Array.isArray(await all(driver.nodePages())));
    } finally {
      driver.close();
      await sim.faults.clear();
    }
  });
});
