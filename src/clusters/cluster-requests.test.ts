import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLabels, checkPools } from './cluster-requests';

describe('cluster request checks', () => {
  it('accepts pools that cover every role with distinct names', () => {
    assert.deepEqual(
      checkPools([
        { name: 'control', roles: ['etcd', 'controlplane'] },
        { name: 'workers', roles: ['worker'] },
      ]),
      [],
    );
  });

  it('names a pool name used twice and the roles no pool has', () => {
    const problems = checkPools([
      { name: 'a', roles: ['etcd'] },
      { name: 'a', roles: ['etcd'] },
    ]);
    assert.deepEqual(
      problems.map((p) => p.field),
      ['nodePools[1].name', 'nodePools'],
    );
    assert.match(problems[1].message, /controlplane, worker$/);
  });

  it('skips the role check when asked (a pool added to a cluster)', () => {
    assert.deepEqual(checkPools([{ name: 'gpu', roles: ['worker'] }], 'nodePools', false), []);
  });

  it('refuses labels with odd keys or long or non-string values', () => {
    assert.deepEqual(checkLabels({ team: 'web', 'example.com/tier': 'front' }), []);
    assert.deepEqual(
      checkLabels({ 'bad key': 'x', long: 'v'.repeat(64), num: 3 }).map((p) => p.field),
      ['labels.bad key', 'labels.long', 'labels.num'],
    );
    assert.deepEqual(checkLabels(undefined), []);
  });
});
