import type { OperationType } from './operation.dto';

/**
 * The ordered steps of each operation type. Each step looks before it acts and persists what it
 * got, so a step that runs twice (after a crash or a redelivered job) does no harm.
 */
export const STEP = {
  createCluster: 'create-cluster',
  awaitRoles: 'await-roles',
  createNodePool: 'create-node-pool',
  awaitActive: 'await-active',
  scaleNodePool: 'scale-node-pool',
  deleteNodePool: 'delete-node-pool',
  awaitNodePoolDeleted: 'await-node-pool-deleted',
  deleteCluster: 'delete-cluster',
  awaitClusterDeleted: 'await-cluster-deleted',
  compensateDeleteCluster: 'compensate:delete-cluster',
  compensateAwaitClusterDeleted: 'compensate:await-cluster-deleted',
  compensateDeleteNodePool: 'compensate:delete-node-pool',
  compensateRestoreQuantity: 'compensate:restore-quantity',
} as const;

export interface PlannedStep {
  name: string;
  nodePoolId?: string | null;
}

export function planCreateCluster(pools: Array<{ id: string; name: string }>): PlannedStep[] {
  return [
    { name: STEP.createCluster },
    { name: STEP.awaitRoles },
    ...pools.map((p) => ({ name: `${STEP.createNodePool}:${p.name}`, nodePoolId: p.id })),
    { name: STEP.awaitActive },
  ];
}

export function planAddNodePool(pool: { id: string; name: string }): PlannedStep[] {
  return [{ name: `${STEP.createNodePool}:${pool.name}`, nodePoolId: pool.id }, { name: STEP.awaitActive }];
}

export function planScaleNodePool(pool: { id: string; name: string }): PlannedStep[] {
  return [{ name: `${STEP.scaleNodePool}:${pool.name}`, nodePoolId: pool.id }, { name: STEP.awaitActive }];
}

export function planDeleteNodePool(pool: { id: string; name: string }): PlannedStep[] {
  return [
    { name: `${STEP.deleteNodePool}:${pool.name}`, nodePoolId: pool.id },
    { name: `${STEP.awaitNodePoolDeleted}:${pool.name}`, nodePoolId: pool.id },
  ];
}

export function planDeleteCluster(): PlannedStep[] {
  return [{ name: STEP.deleteCluster }, { name: STEP.awaitClusterDeleted }];
}

/** What undoes a failed operation; deletes have nothing to undo (they retry until done). */
export function compensationFor(type: OperationType): string[] {
  switch (type) {
    case 'create-cluster':
      return [STEP.compensateDeleteCluster, STEP.compensateAwaitClusterDeleted];
    case 'add-node-pool':
      return [STEP.compensateDeleteNodePool];
    case 'scale-node-pool':
      return [STEP.compensateRestoreQuantity];
    case 'delete-node-pool':
    case 'delete-cluster':
      return [];
  }
}

/** The step kind without its `:<pool>` suffix. */
export const stepKind = (name: string) => (name.startsWith('compensate:') ? name : name.split(':')[0]);
