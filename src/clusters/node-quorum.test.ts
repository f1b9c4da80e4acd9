import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeRecord, NodeRole } from './cluster.types';
import { quorumProblem } from './node-quorum';

let next = 0;
const node = (roles: NodeRole[], healthy = true, state = 'active'): NodeRecord => ({
  id: `n${++next}`,
  clusterId: 'c',
  nodePoolId: 'p',
  nodePoolName: 'pool',
  source: 'pool',
  registrationId: null,
  rancherId: `r${next}`,
  hostname: `h${next}`,
  state,
  transitioning: 'no',
  message: '',
  roles,
  ipAddress: null,
  conditions: [{ type: 'Ready', status: healthy ? 'True' : 'False' }],
  updatedAt: new Date(),
});

describe('quorum protection of a node replacement (etcd floor(n/2)+1, one other controlplane)', () => {
  it('refuses a lone etcd/controlplane node and either of two etcd members', () => {
    const lone = node(['etcd', 'controlplane']);
    assert.match(quorumProblem(lone, [lone]) ?? '', /0 healthy etcd member\(s\) of 1; etcd needs 1/);
    const [a, b] = [node(['etcd']), node(['etcd'])];
    assert.match(quorumProblem(a, [a, b]) ?? '', /1 healthy etcd member\(s\) of 2; etcd needs 2/);
  });

  it('allows the broken member of three whose two others are healthy, refuses a healthy one while another is down', () => {
    const broken = node(['etcd'], false);
    const [b, c] = [node(['etcd']), node(['etcd'])];
    assert.equal(quorumProblem(broken, [broken, b, c]), null);
    assert.match(quorumProblem(b, [broken, b, c]) ?? '', /1 healthy etcd member\(s\) of 3; etcd needs 2/);
  });

  it('does not count a member already being removed, and needs another healthy controlplane node', () => {
    const [a, b, c] = [node(['etcd']), node(['etcd']), node(['etcd'], true, 'removing')];
    assert.match(quorumProblem(a, [a, b, c]) ?? '', /of 2/);
    const cp = node(['controlplane']);
    const down = node(['controlplane'], false);
    assert.match(quorumProblem(cp, [cp, down]) ?? '', /without a healthy controlplane node/);
    assert.equal(quorumProblem(down, [cp, down]), null);
  });

  it('always allows a worker', () => {
    const w = node(['worker']);
    assert.equal(quorumProblem(w, [w]), null);
  });
});
