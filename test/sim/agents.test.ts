/**
 * `POST /__sim/agents`: the simulator playing the agent run on someone's own server with a
 * registration token's node command (§5), for an RKE1 cluster (rancher-agent: a custom node with
 * no pool) and a provisioning v2 one (the system agent: a custom machine with no MachineSet).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseAgentCommand, shellWords } from '../../sim/agents';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { MACHINES_V1, QUICK } from './fixtures';

/** The filled node command of a fresh registration token of `clusterId`. */
async function nodeCommand(sim: TestSimulator, clusterId: string): Promise<string> {
  const made = await sim.rancher('POST', '/v3/clusterregistrationtokens', { clusterId });
  assert.equal(made.status, 201);
  return waitFor(async () => {
    const token = (await sim.rancher('GET', `/v3/clusterregistrationtokens/${made.body.id}`)).body;
    return token.nodeCommand || undefined;
  });
}

describe('the simulated agent (POST /__sim/agents)', () => {
  it('splits commands as sh does and reads the agents flags', () => {
    assert.deepEqual(shellWords(`a 'b c' "d" e'f'`), ['a', 'b c', 'd', 'ef']);
    const rke2 = parseAgentCommand(
      `curl -fL https://r/system-agent-install.sh | sudo sh -s - --server https://r --label 'cattle.io/os=linux' ` +
        `--token t0k --worker --label 'gpu=a100' --taints 'nvidia.com/gpu=true:NoSchedule'`,
    );
    assert.equal(rke2.form, 'rke2');
    assert.equal(rke2.token, 't0k');
    assert.deepEqual(rke2.labels, { 'cattle.io/os': 'linux', gpu: 'a100' });
    assert.deepEqual(rke2.taints, [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }]);
    assert.deepEqual(rke2.roles, { etcd: false, controlPlane: false, worker: true });
    const rke1 = parseAgentCommand(
      'sudo docker run -d --privileged --net=host -v /var/run:/var/run rancher/rancher-agent:v2.9.3 ' +
        '--server https://r --token t0k --all-roles',
    );
    assert.equal(rke1.form, 'rke1');
    assert.deepEqual(rke1.roles, { etcd: true, controlPlane: true, worker: true });
    assert.throws(() => parseAgentCommand('kubectl apply -f x.yaml'), /not a node command/);
    assert.throws(
      () => parseAgentCommand(`${'docker run rancher/rancher-agent:v2 --token t'} --bogus`),
      /not defined/,
    );
    assert.throws(
      () => parseAgentCommand(`docker run rancher/rancher-agent:v2 --taints 'a=b:Sometimes'`),
      /Effect/,
    );
  });

  describe('on an RKE1 cluster (Rancher 2.9)', () => {
    let sim: TestSimulator;
    before(async () => {
      sim = await startTestSimulator({ version: 'v2.9.3', timings: QUICK });
    });
    after(() => sim.close());

    it('registers a worker as a custom node of no pool, which goes active; refuses control roles and bad tokens', async () => {
      const [clusterId] = (await sim.seed({ clusters: 1, kind: 'rke1' })).clusterIds;
      const command = await nodeCommand(sim, clusterId);
      const refused = await sim.rancher('POST', '/__sim/agents', {
        command: `${command} --etcd`,
        hostname: 'a',
      });
      assert.equal(refused.status, 400);
      assert.match(refused.body.message, /workers only/);
      const forged = command.replace(/--token \S+/, '--token nope');
      assert.equal(
        (await sim.rancher('POST', '/__sim/agents', { command: `${forged} --worker`, hostname: 'a' })).status,
        401,
      );
      const joined = await sim.rancher('POST', '/__sim/agents', {
        command: `${command} --worker --label gpu=a100 --taints gpu=true:NoSchedule`,
        hostname: 'gpu-1',
      });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const node = await waitFor(async () => {
        const n = (await sim.rancher('GET', `/v3/nodes/${joined.body.id}`)).body;
        return n.state === 'active' ? n : undefined;
      });
      assert.equal(node.nodePoolId, null);
      assert.equal(node.nodeTemplateId, null);
      assert.equal(node.hostname, 'gpu-1');
      assert.equal(node.worker, true);
      assert.equal(node.etcd, false);
      assert.equal(node.labels.gpu, 'a100');
      assert.deepEqual(node.customConfig.taints, ['gpu=true:NoSchedule']);
      const again = await sim.rancher('POST', '/__sim/agents', {
        command: `${command} --worker`,
        hostname: 'gpu-1',
      });
      assert.equal(again.status, 409);
      // A custom node that is deleted stays deleted: no pool recreates it.
      assert.equal((await sim.rancher('DELETE', `/v3/nodes/${node.id}`)).status, 200);
      await waitFor(
        async () => (await sim.rancher('GET', `/v3/nodes/${node.id}`)).status === 404 || undefined,
      );
    });
  });

  describe('on a provisioning v2 cluster (Rancher 2.12)', () => {
    let sim: TestSimulator;
    before(async () => {
      sim = await startTestSimulator({ version: 'v2.12.3', timings: QUICK });
    });
    after(() => sim.close());

    it('registers a worker as a custom machine with no MachineSet, which runs and is not replaced once deleted', async () => {
      const seeded = await sim.seed({ clusters: 1, kind: 'rke2' });
      const [twin] = seeded.clusterIds;
      const command = await nodeCommand(sim, twin);
      assert.match(command, /system-agent-install\.sh \| sudo sh -s - /);
      assert.equal(
        (
          await sim.rancher('POST', '/__sim/agents', {
            command: `${command} --controlplane --worker`,
            hostname: 'b',
          })
        ).status,
        400,
      );
      const joined = await sim.rancher('POST', '/__sim/agents', {
        command: `${command} --worker --label 'gpu=a100' --taints 'gpu=true:NoSchedule'`,
        hostname: 'gpu-2',
      });
      assert.equal(joined.status, 201, JSON.stringify(joined.body));
      const machine = await waitFor(async () => {
        const m = (await sim.rancher('GET', `${MACHINES_V1}/${joined.body.id}`)).body;
        return m.status?.phase === 'Running' ? m : undefined;
      });
      assert.match(machine.metadata.name, /^custom-[0-9a-f]{12}$/);
      assert.equal(machine.spec.infrastructureRef.kind, 'CustomMachine');
      assert.equal(machine.metadata.labels['rke.cattle.io/rke-machine-pool-name'], undefined);
      assert.equal(machine.metadata.labels['rke.cattle.io/worker-role'], 'true');
      assert.equal(machine.metadata.ownerReferences, undefined);
      assert.deepEqual(JSON.parse(machine.metadata.annotations['rke.cattle.io/labels']), {
        'cattle.io/os': 'linux',
        gpu: 'a100',
      });
      assert.equal(machine.status.nodeRef.name, 'gpu-2');
      // The rke1 form is refused on a v2 cluster.
      const docker = `docker run rancher/rancher-agent:v2.12.3 --server ${sim.url} ${/--token \S+/.exec(command)![0]} --worker`;
      assert.equal(
        (await sim.rancher('POST', '/__sim/agents', { command: docker, hostname: 'c' })).status,
        400,
      );
      assert.equal((await sim.rancher('DELETE', `${MACHINES_V1}/${joined.body.id}`)).status, 200);
      await waitFor(
        async () =>
          (await sim.rancher('GET', `${MACHINES_V1}/${joined.body.id}`)).status === 404 || undefined,
      );
      const machines = (await sim.rancher('GET', `${MACHINES_V1}/fleet-default`)).body.data;
      assert.ok(machines.every((m: any) => !m.metadata.name.startsWith('custom-')));
    });
  });
});
