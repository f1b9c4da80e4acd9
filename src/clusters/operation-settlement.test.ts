import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureWithoutUndo, settlementOf } from './operation-settlement';

const none = { clusters: 0, nodes: 0 };

describe('operation settlement', () => {
  it('create: confirms the whole cluster on success; cancels it and frees the backend on failure', () => {
    const operation = { type: 'create-cluster' as const, params: {} };
    const ok = settlementOf({ operation, succeeded: true, clusterNodes: 5, poolQuantity: null });
    assert.equal(ok.cluster, 'active');
    assert.equal(ok.poolsActive, true);
    assert.deepEqual(ok.quota, { action: 'confirm', amount: { clusters: 1, nodes: 5 } });
    assert.deepEqual(ok.backendRelease, none);
    const failed = settlementOf({ operation, succeeded: false, clusterNodes: 5, poolQuantity: null });
    assert.equal(failed.cluster, 'failed');
    assert.deepEqual(failed.quota, { action: 'cancel', amount: { clusters: 1, nodes: 5 } });
    assert.deepEqual(failed.backendRelease, { clusters: 1, nodes: 5 });
  });

  it('delete: frees the cluster and its nodes once done', () => {
    const s = settlementOf({
      operation: { type: 'delete-cluster', params: {} },
      succeeded: true,
      clusterNodes: 3,
      poolQuantity: null,
    });
    assert.equal(s.cluster, 'deleted');
    assert.deepEqual(s.quota, { action: 'free', amount: { clusters: 1, nodes: 3 } });
    assert.deepEqual(s.backendRelease, { clusters: 1, nodes: 3 });
  });

  it('scale up: confirms the growth, or cancels it, gives the backend its share back and restores the quantity', () => {
    const operation = { type: 'scale-node-pool' as const, params: { quantity: 5, previousQuantity: 2 } };
    const ok = settlementOf({ operation, succeeded: true, clusterNodes: 5, poolQuantity: 5 });
    assert.deepEqual(ok.quota, { action: 'confirm', amount: { clusters: 0, nodes: 3 } });
    assert.deepEqual(ok.backendRelease, none);
    assert.deepEqual(ok.pool, { state: 'active', quantity: undefined });
    const failed = settlementOf({ operation, succeeded: false, clusterNodes: 5, poolQuantity: 5 });
    assert.deepEqual(failed.quota, { action: 'cancel', amount: { clusters: 0, nodes: 3 } });
    assert.deepEqual(failed.backendRelease, { clusters: 0, nodes: 3 });
    assert.deepEqual(failed.pool, { state: 'active', quantity: 2 });
  });

  it('scale down: frees the shrink only once it succeeded', () => {
    const operation = { type: 'scale-node-pool' as const, params: { quantity: 1, previousQuantity: 4 } };
    const ok = settlementOf({ operation, succeeded: true, clusterNodes: 1, poolQuantity: 1 });
    assert.deepEqual(ok.quota, { action: 'free', amount: { clusters: 0, nodes: 3 } });
    assert.deepEqual(ok.backendRelease, { clusters: 0, nodes: 3 });
    const failed = settlementOf({ operation, succeeded: false, clusterNodes: 1, poolQuantity: 1 });
    assert.equal(failed.quota, null);
    assert.deepEqual(failed.backendRelease, none);
  });

  it('pools: an added pool is confirmed or cancelled, a removed one freed; a missing pool record changes no counter', () => {
    const add = { type: 'add-node-pool' as const, params: {} };
    assert.deepEqual(
      settlementOf({ operation: add, succeeded: false, clusterNodes: 4, poolQuantity: 2 }).quota,
      {
        action: 'cancel',
        amount: { clusters: 0, nodes: 2 },
      },
    );
    const removed = settlementOf({
      operation: { type: 'delete-node-pool', params: {} },
      succeeded: true,
      clusterNodes: 4,
      poolQuantity: 2,
    });
    assert.deepEqual(removed.pool, { state: 'deleted' });
    assert.deepEqual(removed.backendRelease, { clusters: 0, nodes: 2 });
    const orphan = settlementOf({ operation: add, succeeded: true, clusterNodes: 4, poolQuantity: null });
    assert.equal(orphan.quota, null);
    assert.deepEqual(orphan.backendRelease, none);
  });

  it('a failed delete leaves the cluster in error, or the pool active again; others compensate instead', () => {
    assert.deepEqual(failureWithoutUndo('delete-cluster'), { cluster: 'error', poolState: null });
    assert.deepEqual(failureWithoutUndo('delete-node-pool'), { cluster: 'active', poolState: 'active' });
    assert.equal(failureWithoutUndo('create-cluster'), null);
  });
});
