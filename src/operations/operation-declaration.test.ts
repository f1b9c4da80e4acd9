import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLUSTER_OPERATIONS, CLUSTER_STEP_HANDLERS, declarationOf } from '../clusters/cluster-operations';
import { compensationSteps, forwardSteps } from './operation-declaration';
import { OPERATION_TYPES } from './operation.types';

const pools = [
  { id: '00000000-0000-4000-8000-000000000001', name: 'control' },
  { id: '00000000-0000-4000-8000-000000000002', name: 'workers' },
];

describe('operation declarations', () => {
  it('expands a create into one create-node-pool step per pool, between the roles and active waits', () => {
    assert.deepEqual(forwardSteps(CLUSTER_OPERATIONS['create-cluster'], pools), [
      { key: 'ensure-bucket', label: 'ensure-bucket', nodePoolId: null },
      { key: 'create-cluster', label: 'create-cluster', nodePoolId: null },
      { key: 'await-roles', label: 'await-roles', nodePoolId: null },
      { key: 'create-node-pool', label: 'create-node-pool:control', nodePoolId: pools[0].id },
      { key: 'create-node-pool', label: 'create-node-pool:workers', nodePoolId: pools[1].id },
      { key: 'await-active', label: 'await-active', nodePoolId: null },
    ]);
  });

  it('on rke2, a create is one machine config per pool, one cluster, then the inline pools recorded', () => {
    assert.deepEqual(
      forwardSteps(declarationOf('rke2', 'create-cluster'), pools).map((s) => s.label),
      [
        'ensure-bucket',
        'create-machine-config:control',
        'create-machine-config:workers',
        'create-cluster',
        'create-node-pool:control',
        'create-node-pool:workers',
        'await-active',
      ],
    );
    assert.deepEqual(
      compensationSteps(declarationOf('rke2', 'create-cluster'), null).map((s) => s.key),
      ['delete-cluster', 'await-cluster-deleted', 'delete-machine-configs', 'remove-bucket'],
    );
    assert.equal(declarationOf('rke1', 'create-cluster'), CLUSTER_OPERATIONS['create-cluster']);
  });

  it('labels pool steps with their pool and compensation steps with compensate:', () => {
    const [pool] = pools;
    assert.deepEqual(
      forwardSteps(CLUSTER_OPERATIONS['delete-node-pool'], [pool]).map((s) => s.label),
      ['delete-node-pool:control', 'await-node-pool-deleted:control'],
    );
    assert.deepEqual(compensationSteps(CLUSTER_OPERATIONS['add-node-pool'], pool.id), [
      { key: 'delete-node-pool', label: 'compensate:delete-node-pool', nodePoolId: pool.id },
      { key: 'await-node-pool-deleted', label: 'compensate:await-node-pool-deleted', nodePoolId: pool.id },
    ]);
  });

  it('declares every operation type; only deletes run without a deadline; deletes, backups, upgrades, node changes and addons have no undo', () => {
    // A replaced node cannot be undeleted; an auto-replace setting that failed never reached the backend.
    const backups = [
      'take-backup',
      'restore-backup',
      'update-backup-schedule',
      'upgrade',
      'replace-node',
      'set-auto-replace',
      'install-addon',
      'uninstall-addon',
    ];
    for (const type of OPERATION_TYPES) {
      const declaration = CLUSTER_OPERATIONS[type];
      assert.ok(declaration.forward.length > 0, type);
      const isDelete = type === 'delete-cluster' || type === 'delete-node-pool' || type === 'remove-node';
      assert.equal(declaration.deadline, !isDelete, type);
      assert.equal(declaration.compensation.length === 0, isDelete || backups.includes(type), type);
    }
  });

  it('makes the bucket before the cluster and removes it last when a create is undone', () => {
    const create = CLUSTER_OPERATIONS['create-cluster'];
    assert.equal(forwardSteps(create, pools)[0].key, 'ensure-bucket');
    assert.deepEqual(
      compensationSteps(create, null).map((s) => s.key),
      ['delete-cluster', 'await-cluster-deleted', 'remove-bucket'],
    );
  });

  it('gives every handler a distinct key', () => {
    const keys = CLUSTER_STEP_HANDLERS.map((h) => h.key);
    assert.equal(new Set(keys).size, keys.length);
    // Ten for rke1's create, scale and delete, two only rke2 declares (create-machine-config,
    // delete-machine-configs), seven for buckets, backups and restores, three for upgrades, three
    // for node replacement and auto-replace (delete-node, await-node-replaced, set-auto-replace),
    // one for removing a registered node (await-node-removed; it deletes with delete-node), five
    // for addon opt-ins.
    assert.equal(CLUSTER_STEP_HANDLERS.length, 31);
  });
});
