/**
 * Transport basics of the Rancher client over real HTTP: probe, authentication failures,
 * unreachable servers, redirects, request headers, metrics and token hygiene.
 */

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { BackendError } from '../../src/rancher-backends/backend.errors';
import { createBackendDriver } from '../../src/rancher-backends/backend-driver.factory';
import { RancherClient } from '../../src/rancher-backends/rancher-client';
import { createRancherMetricsObserver } from '../../src/rancher-backends/rancher-metrics';
import { TestSimulator, all, driverFor, rejection, startTestSimulator } from '../support/simulator';

/** A plain HTTP server for what a simulator cannot show (redirects, request headers). */
async function startRawServer(
  handler: http.RequestListener,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, note the port, close. */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('rancher client basics', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
  });
  after(async () => {
    await sim.close();
  });

  test('probe reports the version and a latency', async () => {
    const driver = driverFor(sim);
    try {
      const probe = await driver.probe();
      assert.match(probe.version, /^v2\./);
      assert.ok(probe.latencyMs >= 0 && probe.latencyMs < 5_000);
    } finally {
      driver.close();
    }
  });

  test('a wrong token is unauthorized and not retryable, and sent only once', async () => {
    const driver = createBackendDriver(
      'rke1',
      {
        name: 'sim-1',
        url: sim.url,
        token: 'token-wrong:bcdfghjklmnpqrstvwxz2456789bcdfghjklmnpqrstvwxz24567',
      },
      { retryBaseDelayMs: 5 },
    );
    try {
      await sim.clearCalls();
      const error = await rejection(() => driver.probe());
      assert.ok(error instanceof BackendError);
      assert.equal(error.kind, 'unauthorized');
      assert.equal(error.retryable, false);
      assert.equal(error.status, 401);
      assert.equal(error.path, '/v3/settings/server-version');
      const calls = (await sim.calls()).filter((c) => c.path === '/v3/settings/server-version');
      assert.equal(calls.length, 1, 'a 401 must not be retried');
    } finally {
      driver.close();
    }
  });

  test('an unreachable port is a retryable network error that was never sent', async () => {
    const port = await freePort();
    const driver = createBackendDriver(
      'rke1',
      { name: 'gone', url: `http://127.0.0.1:${port}`, token: sim.token },
      { retries: 1, retryBaseDelayMs: 5 },
    );
    try {
      const error = await rejection(() => driver.createCluster({ name: 'never-sent', labels: {} }));
      assert.ok(error instanceof BackendError);
      assert.equal(error.kind, 'network');
      assert.equal(error.retryable, true);
      assert.equal(error.ambiguous, false, 'ECONNREFUSED: the create cannot have been applied');
      assert.equal(error.transportCode, 'ECONNREFUSED');
    } finally {
      driver.close();
    }
  });

  test('redirects are not followed', async () => {
    let followed = 0;
    const raw = await startRawServer((req, res) => {
      if (req.url === '/elsewhere') {
        followed++;
        res.end('{}');
        return;
      }
      res.writeHead(302, { Location: '/elsewhere' });
      res.end();
    });
    const driver = createBackendDriver('rke1', { name: 'redirecting', url: raw.url, token: sim.token });
    try {
      const error = await rejection(() => driver.getCluster('c-abcde'));
      assert.equal(error.kind, 'unexpected-response');
      assert.equal(error.status, 302);
      assert.equal(error.retryable, false);
      assert.equal(followed, 0);
    } finally {
      driver.close();
      await raw.close();
    }
  });

  test('sends Bearer auth, JSON accept and a non-browser User-Agent', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const raw = await startRawServer((req, res) => {
      seen.push(req.headers);
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ id: 'server-version', type: 'setting', value: 'v2.11.9' }));
    });
    const client = new RancherClient({ name: 'raw', url: raw.url, token: sim.token });
    try {
      await client.request({ method: 'GET', route: '/v3/settings/server-version' });
      assert.equal(seen.length, 1);
      assert.equal(seen[0].authorization, `Bearer ${sim.token}`);
      assert.equal(seen[0].accept, 'application/json');
      assert.match(String(seen[0]['user-agent']), /^paddock\//);
      assert.doesNotMatch(String(seen[0]['user-agent']), /mozilla/i);
      assert.equal(seen[0].connection, 'keep-alive');
    } finally {
      client.close();
      await raw.close();
    }
    assert.throws(
      () => new RancherClient({ name: 'x', url: raw.url, token: 't' }, { userAgent: 'Mozilla/5.0' }),
      /mozilla/,
    );
  });

  test('an HTML answer (the API browser) is an unexpected response', async () => {
    const raw = await startRawServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!DOCTYPE html><html><body>Rancher</body></html>');
    });
    const driver = createBackendDriver('rke1', { name: 'html', url: raw.url, token: sim.token });
    try {
      const error = await rejection(() => all(driver.clusterPages()));
      assert.equal(error.kind, 'unexpected-response');
      assert.equal(error.retryable, false);
    } finally {
      driver.close();
      await raw.close();
    }
  });

  test('the metrics observer counts calls by route and outcome on the given registry', async () => {
    const registry = new Registry();
    const driver = driverFor(sim, { observer: createRancherMetricsObserver(registry) });
    // A second observer on the same registry must not throw "already registered".
    createRancherMetricsObserver(registry);
    try {
      await driver.probe();
      assert.equal(await driver.getCluster('c-zzzzz'), null);
      const text = await registry.metrics();
      assert.match(
        text,
        /paddock_rancher_calls_total\{backend="sim-1",method="GET",route="\/ping",outcome="200"\} 1/,
      );
      assert.match(
        text,
        /paddock_rancher_calls_total\{backend="sim-1",method="GET",route="\/v3\/clusters\/:id",outcome="404"\} 1/,
      );
      assert.match(
        text,
        /paddock_rancher_call_duration_seconds_count\{backend="sim-1",method="GET",route="\/v3\/settings\/server-version",outcome="200"\} 1/,
      );
    } finally {
      driver.close();
    }
  });

  test('the token appears in no error and no log line', async () => {
    const logged: string[] = [];
    const logger = {
      warn: (obj: Record<string, unknown>, msg: string) => logged.push(JSON.stringify(obj) + msg),
    };
    // Echo the token back in an error body: the client must redact it.
    const raw = await startRawServer((req, res) => {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          type: 'error',
          status: 500,
          code: 'ServerError',
          message: `bad header ${req.headers.authorization}`,
        }),
      );
    });
    const secret = sim.token.slice(sim.token.indexOf(':') + 1);
    const drivers = [
      createBackendDriver(
        'rke1',
        { name: 'echo', url: raw.url, token: sim.token },
        { logger, retryBaseDelayMs: 1, retries: 2 },
      ),
      createBackendDriver(
        'rke1',
        { name: 'sim', url: sim.url, token: sim.token },
        { logger, retryBaseDelayMs: 1 },
      ),
      createBackendDriver(
        'rke1',
        { name: 'sim-bad', url: sim.url, token: `token-wrong:${secret}` },
        { logger },
      ),
    ];
    const errors: unknown[] = [];
    try {
      errors.push(await rejection(() => all(drivers[0].clusterPages())));
      errors.push(await rejection(() => drivers[0].createCluster({ name: 'x', labels: {} })));
      errors.push(await rejection(() => drivers[1].createCluster({ name: 'Not A Label', labels: {} })));
      errors.push(await rejection(() => drivers[2].probe()));
    } finally {
      for (const d of drivers) d.close();
      await raw.close();
    }
    assert.ok(logged.length > 0, 'the retries were logged');
    for (const error of errors) {
      assert.ok(error instanceof BackendError);
      for (const text of [
        error.message,
        JSON.stringify(error),
        String(error.stack),
        JSON.stringify(Object.entries(error)),
      ]) {
        assert.ok(!text.includes(secret), `secret leaked in ${text}`);
      }
    }
    for (const line of logged) assert.ok(!line.includes(secret), `secret leaked in log ${line}`);
    assert.match((errors[0] as BackendError).message, /\[redacted\]/);
  });

  test('close() lets calls in flight finish', async () => {
    const driver = driverFor(sim);
    await sim.faults.add({ method: 'GET', path: '^/v3/clusters/c-closed$', delayMs: 300, times: 1 });
    try {
      const pending = driver.getCluster('c-closed');
      await new Promise((r) => setTimeout(r, 50));
      driver.close();
      assert.equal(await pending, null);
    } finally {
      await sim.faults.clear();
    }
  });

  test('an unknown backend kind is refused clearly', () => {
    assert.throws(
      () => createBackendDriver('rke3' as never, { name: 'x', url: sim.url, token: sim.token }),
      /unknown backend kind "rke3"/,
    );
    assert.throws(
      () => createBackendDriver('rke1', { name: 'x', url: 'ftp://host', token: sim.token }),
      /http or https/,
    );
  });
});
