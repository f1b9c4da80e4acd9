/** Node templates (§4.1), the pool reconciler (§4.2) and node states and actions (§4.3). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startTestSimulator,
  waitFor,
  waitForGone,
  waitForState,
  type TestSimulator,
} from '../support/simulator';
import { createCluster, createPool, hostnames, listNodes, QUICK, TEMPLATE } from './fixtures';

describe('node templates, pools and nodes', () => {
  let sim: TestSimulator;
  let clusterId: string;
  before(async () => {
    sim = await startTestSimulator({
      timings: { ...QUICK, nodeProvisionMs: 80, nodeRegisterMs: 80 },
      nodeTemplates: [TEMPLATE],
    });
    clusterId = (await createCluster(sim, 'pools')).id;
  });
  after(() => sim.close());

  /** Waits until the pool has exactly `expected` live nodes (by hostname) and returns them. */
  async function settled(poolId: string, expected: string[]): Promise<any[]> {
    let seen: string[] = [];
    return waitFor(
      async () => {
        const nodes = (await listNodes(sim, `nodePoolId=${poolId}`)).filter((n) => n.state !== 'removing');
        seen = hostnames(nodes);
        return JSON.stringify(seen) === JSON.stringify([...expected].sort()) ? nodes : undefined;
      },
      { what: () => `nodes ${expected.join(',')} (saw ${seen.join(',')})` },
    );
  }

  describe('node templates', () => {
    it('creates a template from exactly one driver block', async () => {
      const { status, body } = await sim.rancher('POST', '/v3/nodetemplates', {
        name: 'small',
        amazonec2Config: { instanceType: 't3.small', region: 'eu-west-1' },
      });
      assert.equal(status, 201);
      assert.match(body.id, /^cattle-global-nt:nt-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      assert.equal(body.driver, 'amazonec2');
      assert.equal(body.state, 'active');
      assert.equal(body.name, 'small');
      assert.deepEqual(body.amazonec2Config, { instanceType: 't3.small', region: 'eu-west-1' });
      assert.equal(body.useInternalIpAddress, true);
    });

    it('requires a Config block', async () => {
      const { status, body } = await sim.rancher('POST', '/v3/nodetemplates', { name: 'none' });
      assert.equal(status, 422);
      assert.deepEqual(body, {
        baseType: 'error',
        type: 'error',
        status: 422,
        code: 'MissingRequired',
        message: 'a Config field must be set',
      });
    });

    it('refuses to delete a template in use, then deletes it once free', async () => {
      const template = (await sim.rancher('POST', '/v3/nodetemplates', { name: 'used', openstackConfig: {} }))
        .body;
      const pool = await createPool(sim, clusterId, {
        nodeTemplateId: template.id,
        hostnamePrefix: 'used-',
        worker: true,
      });
      const refused = await sim.rancher('DELETE', `/v3/nodeTemplates/${template.id}`);
      assert.equal(refused.status, 405);
      assert.deepEqual(refused.body, {
        baseType: 'error',
        type: 'error',
        status: 405,
        code: 'MethodNotAllow',
        message: 'Template is in use by a node pool.',
      });
      await sim.rancher('DELETE', `/v3/nodePools/${pool.id}`);
      await waitForGone(sim, `/v3/nodePools/${pool.id}`);
      // The pool is gone but its node is removed in the background: until it is, every DELETE of
      // the template is refused for the node's sake, and the first one that succeeds finds no node.
      let removed = await sim.rancher('DELETE', `/v3/nodeTemplates/${template.id}`);
      while (removed.status === 405) {
        assert.equal(removed.body.message, 'Template is in use by a node.');
        await sleep(20);
        removed = await sim.rancher('DELETE', `/v3/nodeTemplates/${template.id}`);
      }
      assert.equal(removed.status, 200);
      assert.equal(removed.body.state, 'removing');
      assert.deepEqual(await listNodes(sim, `nodeTemplateId=${template.id}`), []);
      await waitForGone(sim, `/v3/nodeTemplates/${template.id}`);
    });
  });

  it('creates pools with defaults and names nodes prefix + n', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'web-', quantity: 3, worker: true });
    assert.match(pool.id, new RegExp(`^${clusterId}:np-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.equal(pool.state, 'updating');
    assert.equal(pool.namespaceId, null);
    assert.equal(pool.quantity, 3);
    const nodes = await settled(pool.id, ['web-1', 'web-2', 'web-3']);
    for (const node of nodes) {
      assert.match(node.id, new RegExp(`^${clusterId}:m-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      assert.equal(node.nodePoolId, pool.id);
      assert.equal(node.nodeTemplateId, sim.nodeTemplates[0].id);
      assert.equal(node.clusterId, clusterId);
      assert.equal(node.worker, true);
      assert.equal(node.etcd, false);
    }
    assert.equal((await waitForState(sim, `/v3/nodePools/${pool.id}`, 'active')).quantity, 3);
    const defaulted = await createPool(sim, clusterId, { hostnamePrefix: 'one-' });
    assert.equal(defaulted.quantity, 1);
  });

  it('takes nodes provisioning → registering → active', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'life-', worker: true });
    const states: string[] = [];
    const node = await waitFor(async () => (await listNodes(sim, `nodePoolId=${pool.id}`))[0]);
    await waitFor(
      async () => {
        const { body } = await sim.rancher('GET', `/v3/nodes/${node.id}`);
        if (states[states.length - 1] !== body.state) states.push(body.state);
        return body.state === 'active' ? body : undefined;
      },
      { intervalMs: 5 },
    );
    assert.deepEqual(states, ['provisioning', 'registering', 'active']);
    const active = (await sim.rancher('GET', `/v3/nodes/${node.id}`)).body;
    assert.equal(active.hostname, 'life-1');
    assert.equal(active.nodeName, 'life-1');
    assert.match(active.ipAddress, /^10\.\d+\.\d+\.\d+$/);
    assert.deepEqual(active.capacity, { cpu: '4', memory: '16380640Ki', pods: '110' });
    assert.equal(active.info.os.operatingSystem, 'Ubuntu 22.04.5 LTS');
  });

  it('honours zero padding and removes the naturally highest hostname on scale down', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'db-08', quantity: 3, worker: true });
    await settled(pool.id, ['db-08', 'db-09', 'db-10']);
    const scaled = await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { quantity: 2 });
    assert.equal(scaled.body.state, 'updating');
    await settled(pool.id, ['db-08', 'db-09']);
    // A removing node keeps its name until it is gone; then the name is free again.
    await waitFor(async () => (await listNodes(sim, `nodePoolId=${pool.id}`)).length === 2);
    await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { quantity: 4 });
    await settled(pool.id, ['db-08', 'db-09', 'db-10', 'db-11']);
  });

  it('recreates a directly deleted node under the same name', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'heal-', quantity: 3, worker: true });
    const nodes = await settled(pool.id, ['heal-1', 'heal-2', 'heal-3']);
    const victim = nodes.find((n) => n.requestedHostname === 'heal-2');
    const deleted = await sim.rancher('DELETE', `/v3/nodes/${victim.id}`);
    assert.equal(deleted.status, 200);
    assert.equal(deleted.body.state, 'removing');
    await waitForGone(sim, `/v3/nodes/${victim.id}`);
    const healed = await settled(pool.id, ['heal-1', 'heal-2', 'heal-3']);
    const replacement = healed.find((n) => n.requestedHostname === 'heal-2');
    assert.notEqual(replacement.id, victim.id);
    assert.equal((await sim.rancher('GET', `/v3/nodePools/${pool.id}`)).body.quantity, 3);
  });

  it('bounds deleteNotReadyAfterSecs as norman does (0–31540000)', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'dnr-', quantity: 1, worker: true });
    for (const [value, code] of [
      [-1, 'MinLimitExceeded'],
      [31_540_001, 'MaxLimitExceeded'],
      ['60', 'InvalidFormat'],
    ] as const) {
      const put = await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { deleteNotReadyAfterSecs: value });
      assert.equal(put.status, 422, JSON.stringify(put.body));
      assert.equal(put.body.code, code);
      assert.equal(put.body.fieldName, 'deleteNotReadyAfterSecs');
    }
    const ok = await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { deleteNotReadyAfterSecs: 600 });
    assert.equal(ok.body.deleteNotReadyAfterSecs, 600);
  });

  it('with deleteNotReadyAfterSecs, replaces an unreachable node (Ready=Unknown) after that long, not a NotReady one', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'sick-', quantity: 2, worker: true });
    await settled(pool.id, ['sick-1', 'sick-2']);
    const active = await waitFor(async () => {
      const all = await listNodes(sim, `nodePoolId=${pool.id}`);
      return all.length === 2 && all.every((n) => n.state === 'active') ? all : undefined;
    });
    await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { deleteNotReadyAfterSecs: 1 });
    const [unreachable, notReady] = active;
    await sim.setCondition({
      type: 'node',
      id: unreachable.id,
      condition: { type: 'Ready', status: 'Unknown' },
    });
    await sim.setCondition({ type: 'node', id: notReady.id, condition: { type: 'Ready', status: 'False' } });
    const taints = async (id: string) =>
      ((await sim.rancher('GET', `/v3/nodes/${id}`)).body.taints as Array<{ key: string }>).map((t) => t.key);
    assert.deepEqual(await taints(unreachable.id), ['node.kubernetes.io/unreachable']);
    assert.deepEqual(await taints(notReady.id), ['node.kubernetes.io/not-ready']);
    const started = Date.now();
    await waitForGone(sim, `/v3/nodes/${unreachable.id}`);
    assert.ok(Date.now() - started >= 800, 'not before deleteNotReadyAfterSecs');
    const healed = await settled(pool.id, ['sick-1', 'sick-2']);
    assert.ok(!healed.some((n) => n.id === unreachable.id));
    assert.ok(
      healed.some((n) => n.id === notReady.id),
      'a NotReady node stays (only unreachable ones go)',
    );
  });

  it('reuses the lowest free name when scaling up after a scaledown', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'gap-', quantity: 3, worker: true });
    await settled(pool.id, ['gap-1', 'gap-2', 'gap-3']);
    const nodes = await waitFor(async () => {
      const all = await listNodes(sim, `nodePoolId=${pool.id}`);
      return all.every((n) => n.state === 'active') ? all : undefined;
    });
    const first = nodes.find((n) => n.requestedHostname === 'gap-1');
    assert.ok(first.actions.scaledown);
    const action = await sim.rancher('POST', `/v3/nodes/${first.id}?action=scaledown`);
    assert.equal(action.status, 200);
    assert.deepEqual(action.body, {});
    assert.equal((await sim.rancher('GET', `/v3/nodePools/${pool.id}`)).body.quantity, 2);
    await waitForGone(sim, `/v3/nodes/${first.id}`);
    await sleep(50);
    await settled(pool.id, ['gap-2', 'gap-3']);
    await sim.rancher('PUT', `/v3/nodePools/${pool.id}`, { quantity: 3 });
    await settled(pool.id, ['gap-1', 'gap-2', 'gap-3']);
  });

  it('removes all nodes with their pool', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'bye-', quantity: 2, worker: true });
    await settled(pool.id, ['bye-1', 'bye-2']);
    const deleted = await sim.rancher('DELETE', `/v3/nodePools/${pool.id}`);
    assert.equal(deleted.body.state, 'removing');
    await waitForGone(sim, `/v3/nodePools/${pool.id}`);
    await waitFor(async () => (await listNodes(sim, `nodePoolId=${pool.id}`)).length === 0);
  });

  it('cordons, uncordons, drains and stops draining worker nodes', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'act-', worker: true });
    const node = await waitFor(async () => {
      const [first] = await listNodes(sim, `nodePoolId=${pool.id}`);
      return first?.state === 'active' ? first : undefined;
    });
    const path = `/v3/nodes/${node.id}`;
    assert.deepEqual(Object.keys(node.actions).sort(), ['cordon', 'drain', 'scaledown', 'uncordon']);
    assert.equal(node.actions.cordon, `${sim.url}${path}?action=cordon`);

    assert.deepEqual((await sim.rancher('POST', `${path}?action=cordon`)).body, {});
    assert.equal((await sim.rancher('GET', path)).body.state, 'cordoned');
    const again = await sim.rancher('POST', `${path}?action=cordon`);
    assert.equal(again.status, 422);
    assert.equal(again.body.code, 'InvalidAction');
    assert.equal(again.body.message, `Node ${node.id} already cordoned`);
    assert.equal((await sim.rancher('POST', `${path}?action=uncordon`)).status, 200);
    assert.equal((await sim.rancher('GET', path)).body.state, 'active');
    assert.equal((await sim.rancher('POST', `${path}?action=uncordon`)).status, 422);

    const badDrain = await sim.rancher('POST', `${path}?action=drain`, { timeout: 'soon' });
    assert.equal(badDrain.status, 422);
    assert.equal(badDrain.body.code, 'InvalidBodyContent');
    const drain = await sim.rancher('POST', `${path}?action=drain`, {
      ignoreDaemonSets: true,
      timeout: 120,
      gracePeriod: -1,
    });
    assert.equal(drain.status, 200);
    const draining = (await sim.rancher('GET', path)).body;
    assert.equal(draining.state, 'draining');
    assert.ok(draining.actions.stopDrain);
    assert.equal((await sim.rancher('POST', `${path}?action=stopDrain`)).status, 200);
    assert.equal((await sim.rancher('GET', path)).body.state, 'cordoned');
    const stopAgain = await sim.rancher('POST', `${path}?action=stopDrain`);
    assert.equal(stopAgain.body.message, 'Invalid action: stopDrain');

    await sim.rancher('POST', `${path}?action=drain`, {});
    await waitForState(sim, path, 'drained');
  });

  it('offers no node actions on non-worker or unfinished nodes', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'etcd-', etcd: true });
    const node = await waitFor(async () => (await listNodes(sim, `nodePoolId=${pool.id}`))[0]);
    assert.deepEqual(node.actions, {});
    await waitForState(sim, `/v3/nodes/${node.id}`, 'active');
    const refused = await sim.rancher('POST', `/v3/nodes/${node.id}?action=cordon`);
    assert.equal(refused.status, 422);
    assert.equal(refused.body.message, 'Invalid action: cordon');
  });

  it('shows an injected node failure and keeps the node there', async () => {
    const pool = await createPool(sim, clusterId, { hostnamePrefix: 'fail-', worker: true });
    const node = await waitFor(async () => (await listNodes(sim, `nodePoolId=${pool.id}`))[0]);
    const failed = await sim.setCondition({
      type: 'node',
      id: node.id,
      condition: { type: 'Provisioned', status: 'False', message: 'Error creating machine: quota exceeded' },
    });
    assert.equal(failed.state, 'provisioning');
    assert.equal(failed.transitioning, 'error');
    assert.equal(failed.transitioningMessage, 'Error creating machine: quota exceeded');
    await sleep(200);
    assert.equal((await sim.rancher('GET', `/v3/nodes/${node.id}`)).body.transitioning, 'error');
    await sim.setCondition({ type: 'node', id: node.id, condition: { type: 'Provisioned', status: 'True' } });
    await waitForState(sim, `/v3/nodes/${node.id}`, 'active');
  });

  it('replaces a node still failing to provision after nodeFailedReplaceMs', async () => {
    const quick = await startTestSimulator({
      timings: { ...QUICK, nodeProvisionMs: 60_000, nodeFailedReplaceMs: 300 },
      nodeTemplates: [TEMPLATE],
    });
    try {
      const cluster = await createCluster(quick, 'replace');
      const pool = await createPool(quick, cluster.id, { hostnamePrefix: 'bad-', worker: true });
      const node = await waitFor(async () => (await listNodes(quick, `nodePoolId=${pool.id}`))[0]);
      await quick.setCondition({
        type: 'node',
        id: node.id,
        condition: { type: 'Provisioned', status: 'False', message: 'Error creating machine' },
      });
      await waitForGone(quick, `/v3/nodes/${node.id}`);
      const replacement = await waitFor(async () => (await listNodes(quick, `nodePoolId=${pool.id}`))[0]);
      assert.notEqual(replacement.id, node.id);
      assert.equal(replacement.requestedHostname, 'bad-1');
      assert.equal(replacement.state, 'provisioning');
      assert.equal(replacement.transitioning, 'yes');
    } finally {
      await quick.close();
    }
  });
});
