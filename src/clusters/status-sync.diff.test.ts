import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  PADDOCK_LABELS,
  RemoteCluster,
  RemoteNode,
  RemoteNodePool,
} from '../rancher-backends/backend-driver';
import { labelledIds, restingState, SyncCluster, SyncDiff, SyncPool } from './status-sync.diff';
import { withTransition } from './status-sync.conditions';

const CLUSTER = '00000000-0000-4000-8000-000000000001';
const POOL = '00000000-0000-4000-8000-0000000000a1';
const STRANGER = '00000000-0000-4000-8000-0000000000ff';
const NOW = '2026-12-01T12:00:00.000Z';
const managed = (own: Record<string, string>) => ({ [PADDOCK_LABELS.managed]: 'true', ...own });

const status = { state: 'active', transitioning: 'no' as const, message: '', conditions: [] };
const remoteCluster = (id: string, over: Partial<RemoteCluster> = {}): RemoteCluster => ({
  ...status,
  id,
  managementId: id,
  name: id,
  labels: {},
  removing: false,
  nodeCount: 0,
  kubernetesVersion: null,
  ...over,
});
const remotePool = (id: string, over: Partial<RemoteNodePool> = {}): RemoteNodePool => ({
  ...status,
  id,
  clusterId: id.split(':')[0],
  hostnamePrefix: 'p-',
  quantity: 2,
  roles: { etcd: false, controlPlane: false, worker: true },
  nodeTemplateId: 'nt',
  labels: {},
  ...over,
});
const remoteNode = (id: string, pool: string | null, state = 'active'): RemoteNode => ({
  ...status,
  state,
  id,
  clusterId: id.split(':')[0],
  nodePoolId: pool,
  hostname: id,
  ipAddress: null,
  roles: { etcd: false, controlPlane: false, worker: true },
  provisioning: state !== 'active',
});
const cluster = (over: Partial<SyncCluster> = {}): SyncCluster => ({
  id: CLUSTER,
  rancherId: 'c-1',
  state: 'active',
  conditions: [],
  hasActiveOperation: false,
  ...over,
});
const pool = (over: Partial<SyncPool> = {}): SyncPool => ({
  id: POOL,
  clusterId: CLUSTER,
  rancherId: 'c-1:np-1',
  quantity: 2,
  state: 'active',
  ...over,
});
const condition = (diff: ReturnType<SyncDiff['clusters']>[number], type: string) =>
  diff.conditions.find((c) => c.type === type);

describe('status sync diff', () => {
  it('counts nodes for their pool and cluster, and mirrors only nodes of known clusters', () => {
    const diff = new SyncDiff(NOW);
    const rows = diff.nodes(
      [
        remoteNode('c-1:m-1', 'c-1:np-1'),
        remoteNode('c-1:m-2', 'c-1:np-1', 'provisioning'),
        remoteNode('c-9:m-1', null),
      ],
      new Map([['c-1', CLUSTER]]),
      new Map([['c-1:np-1', POOL]]),
    );
    assert.deepEqual(
      rows.map((r) => [r.rancherId, r.clusterId, r.nodePoolId, r.roles]),
      [
        ['c-1:m-1', CLUSTER, POOL, ['worker']],
        ['c-1:m-2', CLUSTER, POOL, ['worker']],
      ],
    );
    assert.deepEqual(diff.seenNodeIds, ['c-1:m-1', 'c-1:m-2', 'c-9:m-1'], 'every listed node counts as seen');
    assert.deepEqual(diff.pools([remotePool('c-1:np-1')], [pool()]), [
      { id: POOL, remoteQuantity: 2, readyNodes: 1 },
    ]);
    const [update] = diff.clusters([remoteCluster('c-1')], [cluster()]);
    assert.equal(update.nodeCount, 2);
    assert.equal(condition(update, 'InSync')?.status, 'True');
    assert.equal(diff.report('b').nodes, 2);
  });

  it('reports a pool scaled behind Paddock on the pool and its cluster, but not one being scaled', () => {
    const diff = new SyncDiff(NOW);
    diff.pools([remotePool('c-1:np-1', { quantity: 5 })], [pool()]);
    diff.pools(
      [remotePool('c-2:np-1', { quantity: 5 })],
      [pool({ id: STRANGER, rancherId: 'c-2:np-1', state: 'scaling' })],
    );
    const [update] = diff.clusters([remoteCluster('c-1')], [cluster()]);
    assert.deepEqual(diff.report('b').scaledPools, [POOL]);
    assert.equal(condition(update, 'InSync')?.reason, 'NodePoolDrift');
    assert.match(condition(update, 'InSync')?.message ?? '', /quantity is 5 on the backend, 2 in Paddock/);
  });

  it('a pool no page listed is missing: no remote quantity, and drift when it was at rest', () => {
    const diff = new SyncDiff(NOW);
    diff.pools([], []);
    assert.deepEqual(diff.missingPools([pool(), pool({ id: STRANGER, rancherId: null })]), [
      { id: POOL, remoteQuantity: null, readyNodes: 0 },
    ]);
    assert.deepEqual(diff.report('b').scaledPools, [POOL]);
  });

  it('a cluster no page listed is missing and in error, unless it is being deleted', () => {
    const diff = new SyncDiff(NOW);
    diff.clusters([], []);
    const gone = cluster();
    const deleting = cluster({ id: STRANGER, rancherId: 'c-2', state: 'deleting' });
    const notCreatedYet = cluster({ id: POOL, rancherId: null, state: 'provisioning' });
    const updates = diff.missingClusterUpdates([gone, deleting, notCreatedYet]);
    assert.deepEqual(
      updates.map((u) => [u.id, u.state, condition(u, 'InSync')?.reason]),
      [
        [CLUSTER, 'error', 'MissingOnBackend'],
        [STRANGER, 'deleting', undefined],
      ],
    );
    assert.deepEqual(diff.report('b').missingClusters, [CLUSTER]);
    assert.equal(diff.report('b').clusters, 2);
  });

  it('objects labelled as Paddock that match no live record are orphans; their pools go with them', () => {
    const diff = new SyncDiff(NOW);
    diff.pools(
      [
        remotePool('c-1:np-1', { labels: managed({ [PADDOCK_LABELS.poolId]: POOL }) }),
        // a duplicate of a live pool (a create that landed after its retry made another)
        remotePool('c-1:np-2', { labels: managed({ [PADDOCK_LABELS.poolId]: POOL }) }),
        remotePool('c-8:np-1', { labels: managed({ [PADDOCK_LABELS.poolId]: STRANGER }) }),
        remotePool('c-7:np-1', { labels: managed({}), state: 'removing' }),
        remotePool('c-6:np-1', { labels: { [PADDOCK_LABELS.poolId]: STRANGER } }),
      ],
      [pool()],
    );
    diff.clusters(
      [
        remoteCluster('c-1', { labels: managed({ [PADDOCK_LABELS.clusterId]: CLUSTER }) }),
        remoteCluster('c-8', { labels: managed({ [PADDOCK_LABELS.clusterId]: STRANGER }) }),
        remoteCluster('c-7', { labels: managed({}), removing: true }),
        remoteCluster('c-6', { labels: {} }),
      ],
      [cluster()],
    );
    const report = diff.report('b');
    assert.deepEqual(report.unknownClusters, ['c-8']);
    assert.deepEqual(report.unknownPools, ['c-1:np-2'], 'the pool of the unknown cluster is counted with it');
  });

  it('only well-formed ids of managed objects are looked up', () => {
    assert.deepEqual(
      labelledIds(
        [
          { labels: managed({ [PADDOCK_LABELS.clusterId]: CLUSTER.toUpperCase() }) },
          { labels: managed({ [PADDOCK_LABELS.clusterId]: 'not-a-uuid' }) },
          { labels: { [PADDOCK_LABELS.clusterId]: STRANGER } },
        ],
        PADDOCK_LABELS.clusterId,
      ),
      [CLUSTER],
    );
  });

  it('keeps a condition transition time while its status holds', () => {
    const before = [
      { type: 'Ready', status: 'True' as const, lastTransitionTime: '2026-01-01T00:00:00.000Z' },
    ];
    assert.equal(
      withTransition(before, { type: 'Ready', status: 'True' }, NOW).lastTransitionTime,
      before[0].lastTransitionTime,
    );
    assert.equal(withTransition(before, { type: 'Ready', status: 'False' }, NOW).lastTransitionTime, NOW);
    assert.deepEqual(withTransition([], { type: 'Ready', status: 'True', reason: undefined }, NOW), {
      type: 'Ready',
      status: 'True',
      lastTransitionTime: NOW,
    });
  });

  it('leaves the state to a running operation; at rest follows the backend', () => {
    const remote = (over: Partial<RemoteCluster>) => remoteCluster('c-1', over);
    assert.equal(restingState(cluster({ hasActiveOperation: true }), undefined), 'active');
    assert.equal(
      restingState(cluster({ state: 'provisioning' }), remote({ state: 'active' })),
      'provisioning',
    );
    assert.equal(restingState(cluster({ state: 'error' }), remote({ state: 'active' })), 'active');
    assert.equal(restingState(cluster(), remote({ state: 'upgrading' })), 'updating');
    assert.equal(restingState(cluster(), remote({ transitioning: 'error' })), 'error');
    assert.equal(restingState(cluster(), remote({ state: 'unavailable' })), 'error');
    assert.equal(restingState(cluster(), remote({ state: 'provisioning' })), 'active');
  });
});

describe('SyncDiff: conditions', () => {
  it('mirrors node conditions with their unhealthy names and whether the node is provisioning', () => {
    const diff = new SyncDiff(NOW);
    const node = {
      ...remoteNode('c-1:m-1', 'c-1:np-1'),
      conditions: [
        { type: 'Ready', status: 'False' as const, reason: 'KubeletNotReady', lastUpdateTime: NOW },
        { type: 'MemoryPressure', status: 'False' as const, lastTransitionTime: NOW },
      ],
    };
    const [row] = diff.nodes([node], new Map([['c-1', CLUSTER]]), new Map([['c-1:np-1', POOL]]));
    assert.deepEqual(row.conditions, [
      { type: 'Ready', status: 'False', reason: 'KubeletNotReady' },
      { type: 'MemoryPressure', status: 'False', lastTransitionTime: NOW },
    ]);
    assert.deepEqual(row.unhealthyConditions, ['Ready']);
    assert.equal(row.provisioning, false);
  });

  it('keeps every backend cluster condition after the fixed three, and names the unhealthy ones', () => {
    const diff = new SyncDiff(NOW);
    const remote = remoteCluster('c-1', {
      conditions: [
        { type: 'Ready', status: 'True' },
        { type: 'Connected', status: 'True' },
        { type: 'ComponentHealthy/scheduler', status: 'False', message: 'connection refused' },
        { type: 'InSync', status: 'False' },
      ],
    });
    const [update] = diff.clusters([remote], [cluster()]);
    assert.deepEqual(
      update.conditions.map((c) => `${c.type}=${c.status}`),
      [
        'Provisioned=Unknown',
        'Updated=Unknown',
        'Ready=True',
        'Connected=True',
        'ComponentHealthy/scheduler=False',
        'BackendReachable=True',
        'InSync=True',
      ],
    );
    assert.deepEqual(update.unhealthyConditions, ['ComponentHealthy/scheduler', 'Provisioned', 'Updated']);
  });
});
