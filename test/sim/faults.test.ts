/** The control API: faults, the call log, condition injection errors and seeding (design.md, "The simulator"). */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { createCluster, QUICK, TEMPLATE } from './fixtures';

describe('control API', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ timings: QUICK, nodeTemplates: [TEMPLATE] });
  });
  after(() => sim.close());
  beforeEach(async () => {
    await sim.faults.clear();
    await sim.clearCalls();
  });

  it('answers a status fault with a Rancher error without applying the request, `times` times', async () => {
    const fault = await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', status: 500, times: 2 });
    assert.match(fault.id, /^fault-\d+$/);
    assert.equal(fault.remaining, 2);
    for (let i = 0; i < 2; i++) {
      const { status, body } = await sim.rancher('POST', '/v3/clusters', { name: 'faulty' });
      assert.equal(status, 500);
      assert.deepEqual(body, {
        baseType: 'error',
        type: 'error',
        status: 500,
        code: 'ServerError',
        message: 'simulated fault',
      });
    }
    assert.equal(
      (await sim.rancher('GET', '/v3/clusters?name=faulty')).body.data.length,
      0,
      'nothing was created',
    );
    assert.deepEqual(await sim.faults.list(), [], 'used up');
    assert.equal((await sim.rancher('POST', '/v3/clusters', { name: 'faulty' })).status, 201);
  });

  it('maps statuses to Rancher codes and lets a fault override them', async () => {
    const codes: Array<[number, string]> = [
      [503, 'ClusterUnavailable'],
      [403, 'Forbidden'],
      [409, 'Conflict'],
      [429, 'TooManyRequests'],
      [422, 'InvalidFormat'],
    ];
    for (const [status, code] of codes) {
      await sim.faults.add({ path: '^/v3/nodes$', status, times: 1 });
      const response = await sim.rancher('GET', '/v3/nodes');
      assert.equal(response.status, status);
      assert.equal(response.body.code, code);
    }
    await sim.faults.add({ path: '^/v3/nodes$', status: 401, times: 1 });
    assert.deepEqual((await sim.rancher('GET', '/v3/nodes')).body, {
      type: 'error',
      status: '401',
      message: 'Unauthorized 401: must authenticate',
    });
    await sim.faults.add({
      path: '^/v3/nodes$',
      status: 409,
      code: 'Conflict',
      message: 'the object has been modified',
      times: 1,
    });
    assert.equal((await sim.rancher('GET', '/v3/nodes')).body.message, 'the object has been modified');
  });

  it('matches method and path regex, and is unlimited until cleared', async () => {
    await sim.faults.add({ method: 'get', path: '^/v3/node', status: 503 });
    assert.equal((await sim.rancher('GET', '/v3/nodetemplates')).status, 503);
    assert.equal((await sim.rancher('GET', '/v3/nodepools')).status, 503);
    assert.equal((await sim.rancher('GET', '/v3/nodepools')).status, 503);
    assert.equal((await sim.rancher('GET', '/v3/clusters')).status, 200, 'other paths pass');
    assert.equal(
      (await sim.rancher('POST', '/v3/nodetemplates', { openstackConfig: {} })).status,
      201,
      'other methods pass',
    );
    const [listed] = await sim.faults.list();
    assert.equal(listed.remaining, null);
    assert.equal(listed.hits, 3);
    await sim.faults.clear();
    assert.equal((await sim.rancher('GET', '/v3/nodepools')).status, 200);
  });

  it('delays requests, then handles them normally', async () => {
    await sim.faults.add({ path: '^/v3/clusters$', delayMs: 300, times: 1 });
    const started = Date.now();
    const response = await sim.rancher('GET', '/v3/clusters');
    const elapsed = Date.now() - started;
    assert.equal(response.status, 200);
    assert.ok(elapsed >= 290, `took ${elapsed} ms`);
  });

  it('makes a client with a shorter timeout give up', async () => {
    await sim.faults.add({ path: '^/v3/clusters$', delayMs: 500, times: 1 });
    await assert.rejects(
      fetch(`${sim.url}/v3/clusters`, {
        headers: { Authorization: `Bearer ${sim.token}` },
        signal: AbortSignal.timeout(100),
      }),
      /timeout|aborted/i,
    );
    // The simulator still answers (to nobody) once the delay is over.
    const [call] = await waitFor(async () => {
      const calls = await sim.calls();
      return calls.length === 1 ? calls : undefined;
    });
    assert.equal(call.status, 200);
  });

  it('delays and then fails when both delayMs and status are set', async () => {
    await sim.faults.add({ path: '^/v3/clusters$', delayMs: 150, status: 504, times: 1 });
    const started = Date.now();
    const response = await sim.rancher('GET', '/v3/clusters');
    assert.equal(response.status, 504);
    assert.ok(Date.now() - started >= 140);
  });

  it('applies a dropped request, cuts the connection and logs it as dropped', async () => {
    await sim.faults.add({ method: 'POST', path: '^/v3/clusters$', dropResponse: true, times: 1 });
    await assert.rejects(
      sim.rancher('POST', '/v3/clusters', { name: 'dropped', rancherKubernetesEngineConfig: {} }),
    );
    const { body } = await sim.rancher('GET', '/v3/clusters?name=dropped');
    assert.equal(body.data.length, 1, 'the cluster exists although the client got no answer');
    assert.equal(body.data[0].state, 'provisioning');
    const calls = await sim.calls();
    assert.deepEqual(
      calls.map(({ method, path, status, dropped }) => ({ method, path, status, dropped })),
      [
        { method: 'POST', path: '/v3/clusters', status: 201, dropped: true },
        { method: 'GET', path: '/v3/clusters', status: 200, dropped: undefined },
      ],
    );
  });

  it('logs calls with path without query, status and time, but not control calls', async () => {
    const before = Date.now();
    await sim.rancher('GET', '/v3/clusters?limit=5&name=x');
    await sim.rancher('GET', '/v3/clusters/c-nope0');
    await fetch(`${sim.url}/v3/clusters`);
    await fetch(`${sim.url}/ping`);
    await sim.faults.list();
    const calls = await sim.calls();
    assert.deepEqual(
      calls.map(({ method, path, status }) => [method, path, status]),
      [
        ['GET', '/v3/clusters', 200],
        ['GET', '/v3/clusters/c-nope0', 404],
        ['GET', '/v3/clusters', 401],
        ['GET', '/ping', 200],
      ],
    );
    for (const call of calls) {
      assert.match(call.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Date.parse(call.at) >= before - 5);
    }
    await sim.clearCalls();
    assert.deepEqual(await sim.calls(), []);
  });

  it('rejects malformed faults and unknown control paths with 400/404', async () => {
    for (const bad of [
      { path: '(' },
      { status: 99 },
      { path: '^/v3' },
      { times: 0, status: 500 },
      { delayMs: -1 },
    ]) {
      const response = await sim.rancher('POST', '/__sim/faults', bad);
      assert.equal(response.status, 400, JSON.stringify(bad));
      assert.equal(response.body.code, 'BadRequest');
    }
    assert.equal((await sim.rancher('GET', '/__sim/nope')).status, 404);
    const badCondition = await sim.rancher('POST', '/__sim/conditions', {
      type: 'cluster',
      id: 'c-nope0',
      condition: { type: 'Ready', status: 'True' },
    });
    assert.equal(badCondition.status, 404);
  });

  it('removes a single fault by id', async () => {
    const keep = await sim.faults.add({ path: '^/keep', status: 500 });
    const drop = await sim.faults.add({ path: '^/drop', status: 500 });
    assert.equal((await sim.rancher('DELETE', `/__sim/faults/${drop.id}`)).status, 200);
    assert.deepEqual(
      (await sim.faults.list()).map((f) => f.id),
      [keep.id],
    );
  });

  it('seeds active clusters with pools and nodes instantly', async () => {
    const result = await sim.seed({
      clusters: 3,
      poolsPerCluster: 2,
      nodesPerPool: 3,
      labels: { bench: 'yes' },
      namePrefix: 'bench-',
    });
    assert.equal(result.clusterIds.length, 3);
    assert.equal(result.nodePools, 6);
    assert.equal(result.nodes, 18);
    const clusters = (
      await sim.rancher('GET', '/v3/clusters?name_in=bench-1&name_in=bench-2&name_in=bench-3')
    ).body.data;
    assert.equal(clusters.length, 3);
    for (const cluster of clusters) {
      assert.equal(cluster.state, 'active');
      assert.deepEqual(cluster.labels, { bench: 'yes' });
      assert.equal(cluster.nodeCount, 6);
      const pools = (await sim.rancher('GET', `/v3/nodepools?clusterId=${cluster.id}`)).body.data;
      const roles = pools.map((p: any) => [p.etcd, p.controlPlane, p.worker].join()).sort();
      assert.deepEqual(roles, ['false,false,true', 'true,true,false']);
      assert.ok(pools.every((p: any) => p.state === 'active'));
      const nodes = (await sim.rancher('GET', `/v3/nodes?clusterId=${cluster.id}`)).body.data;
      assert.ok(nodes.every((n: any) => n.state === 'active'));
    }
    const again = await sim.seed({ clusters: 1, namePrefix: 'bench-' });
    const [id] = again.clusterIds;
    assert.equal(
      (await sim.rancher('GET', `/v3/clusters/${id}`)).body.name,
      'bench-4',
      'names never collide',
    );
  });

  it('keeps seeded pools reconciling like any other', async () => {
    const { clusterIds } = await sim.seed({ clusters: 1, nodesPerPool: 2, namePrefix: 'grow-' });
    const pool = (await sim.rancher('GET', `/v3/nodepools?clusterId=${clusterIds[0]}`)).body.data[0];
    await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { quantity: 3 });
    await waitFor(
      async () => (await sim.rancher('GET', `/v3/nodes?nodePoolId=${pool.id}`)).body.data.length === 3,
    );
    const cluster = await createCluster(sim, 'after-seed');
    assert.equal(cluster.state, 'provisioning');
  });
});
