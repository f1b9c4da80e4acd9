/**
 * Per-backend limits and pagination: the concurrency cap, the call-rate cap, Retry-After, and
 * list calls whose count grows with pages, not with objects.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { RancherClient } from '../../src/rancher-backends/rancher-client';
import { TestSimulator, all, callsOf, driverFor, startTestSimulator } from '../support/simulator';

describe('limits and pagination', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
  });
  after(async () => {
    await sim.close();
  });

  test('lists follow pagination: 2,500 clusters in exactly 3 pages of 1000', async () => {
    await sim.seed({ clusters: 2_500, poolsPerCluster: 0, nodesPerPool: 0 });
    const driver = driverFor(sim, { pageSize: 1000, timeoutMs: 30_000 });
    try {
      await sim.clearCalls();
      const clusters = await all(driver.clusterPages());
      assert.equal(clusters.length, 2_500);
      const ids = new Set(clusters.map((c) => c.id));
      assert.equal(ids.size, clusters.length, 'no cluster twice');
      const gets = callsOf(await sim.calls(), 'GET', /^\/v3\/clusters$/);
      assert.equal(gets.length, Math.ceil(clusters.length / 1000));
      assert.equal(gets.length, 3);
    } finally {
      driver.close();
    }
  });

  test('pools and nodes are listed page by page too', async () => {
    const local = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    const driver = driverFor(local, { pageSize: 50 });
    try {
      await local.seed({ clusters: 30, poolsPerCluster: 2, nodesPerPool: 2 });
      await local.clearCalls();
      const pools = await all(driver.nodePoolPages());
      const nodes = await all(driver.nodePages());
      assert.equal(new Set(pools.map((p) => p.id)).size, 60);
      assert.equal(new Set(nodes.map((n) => n.id)).size, 120);
      const calls = await local.calls();
      assert.equal(callsOf(calls, 'GET', /^\/v3\/nodepools$/).length, 2);
      assert.equal(callsOf(calls, 'GET', /^\/v3\/nodes$/).length, 3);
    } finally {
      driver.close();
      await local.close();
    }
  });

  test('no more than maxConcurrent calls are in flight', async () => {
    const driver = driverFor(sim, { maxConcurrent: 2, ratePerSecond: 0, circuitBreaker: false });
    try {
      await sim.clearCalls();
      await sim.faults.add({ method: 'GET', path: '^/v3/clusters/c-', delayMs: 300, times: 6 });
      const started = Date.now();
      await Promise.all(Array.from({ length: 6 }, (_, i) => driver.getCluster(`c-cc${i}cc`)));
      const elapsed = Date.now() - started;
      // 6 calls of 300 ms, two at a time: three waves.
      assert.ok(elapsed >= 850, `took ${elapsed} ms; more than 2 calls ran at once`);
      assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
      // The simulator stamps each call on arrival: any three arrivals span at least one delay.
      const arrivals = callsOf(await sim.calls(), 'GET', /^\/v3\/clusters\/c-cc/)
        .map((c) => new Date(c.at).getTime())
        .sort((a, b) => a - b);
      assert.equal(arrivals.length, 6);
      for (let i = 0; i + 2 < arrivals.length; i++) {
        assert.ok(
          arrivals[i + 2] - arrivals[i] >= 280,
          `calls ${i}..${i + 2} overlapped: ${arrivals.join(', ')}`,
        );
      }
    } finally {
      driver.close();
      await sim.faults.clear();
    }
  });

  test('calls are spread to the configured rate', async () => {
    const driver = driverFor(sim, { ratePerSecond: 20, burst: 5 });
    try {
      const started = Date.now();
      await Promise.all(Array.from({ length: 25 }, () => driver.getCluster('c-zzzzz')));
      const elapsed = Date.now() - started;
      // (25 - 5) / 20 = 1 s at least.
      assert.ok(elapsed >= 950, `25 calls at 20/s with burst 5 took only ${elapsed} ms`);
    } finally {
      driver.close();
    }
  });

  test('Retry-After on a 429 is honoured before a read is retried', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => {
      hits++;
      if (hits === 1) {
        res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ type: 'error', status: 429, code: 'TooManyRequests', message: 'slow down' }),
        );
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ type: 'collection', data: [], pagination: { limit: 1000, total: 0 } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new RancherClient(
      { name: 'raw', url: `http://127.0.0.1:${port}`, token: 'token-x:y' },
      { retryBaseDelayMs: 5 },
    );
    try {
      const started = Date.now();
      assert.deepEqual(await client.listAll('/v3/clusters'), []);
      assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
      assert.equal(hits, 2);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
