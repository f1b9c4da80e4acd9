import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { workerJoinCommand } from './join-command';

const RKE1 =
  'sudo docker run -d --privileged --restart=unless-stopped --net=host -v /etc/kubernetes:/etc/kubernetes ' +
  '-v /var/run:/var/run rancher/rancher-agent:v2.9.3 --server https://r.example --token abc';
const RKE2 =
  "curl -fL https://r.example/system-agent-install.sh | sudo sh -s - --server https://r.example --label 'cattle.io/os=linux' --token abc";
const registration = {
  id: '6d688206-b1fc-424f-aa18-719776c47ddf',
  labels: { 'gpu.example.com/model': 'a100' },
  taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' as const }],
};

describe('the worker-only join command', () => {
  it('appends --worker, the labels, the registration label and the taints, single-quoted, to either form', () => {
    for (const base of [RKE1, RKE2]) {
      const command = workerJoinCommand(base, registration);
      assert.equal(
        command,
        `${base} --worker --label 'gpu.example.com/model=a100' ` +
          `--label 'paddock.dev/registration-id=${registration.id}' --taints 'nvidia.com/gpu=true:NoSchedule'`,
      );
    }
  });

  it('refuses a backend command that already names a role, so no control-plane command is ever handed out', () => {
    for (const role of ['--etcd', '--controlplane', '--all-roles', '--worker']) {
      assert.throws(() => workerJoinCommand(`${RKE1} ${role}`, registration), /role/);
    }
  });
});
