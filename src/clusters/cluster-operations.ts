import type { OperationDeclaration } from '../operations/operation-declaration';
import { handlersOf, perPool } from '../operations/operation-declaration';
import type { OperationType } from '../operations/operation.types';
import { AwaitActiveStep } from './steps/await-active.step';
import { AwaitClusterDeletedStep } from './steps/await-cluster-deleted.step';
import { AwaitNodePoolDeletedStep } from './steps/await-node-pool-deleted.step';
import { AwaitRolesStep } from './steps/await-roles.step';
import { CreateClusterStep } from './steps/create-cluster.step';
import { CreateNodePoolStep } from './steps/create-node-pool.step';
import { DeleteClusterStep } from './steps/delete-cluster.step';
import { DeleteNodePoolStep } from './steps/delete-node-pool.step';
import { RestoreQuantityStep } from './steps/restore-quantity.step';
import { ScaleNodePoolStep } from './steps/scale-node-pool.step';

/**
 * What each operation on a cluster does, step by step, and how it is undone. Every step looks
 * before it acts and persists what it got, so a step that runs twice (after a crash or a
 * redelivered job) does no harm. The runner dispatches each persisted step to its handler by key.
 */
export const CLUSTER_OPERATIONS = {
  'create-cluster': {
    forward: [CreateClusterStep, AwaitRolesStep, perPool(CreateNodePoolStep), AwaitActiveStep],
    compensation: [DeleteClusterStep, AwaitClusterDeletedStep],
    deadline: true,
    cancel: 'compensate',
  },
  'add-node-pool': {
    forward: [perPool(CreateNodePoolStep), AwaitActiveStep],
    compensation: [DeleteNodePoolStep, AwaitNodePoolDeletedStep],
    deadline: true,
    cancel: 'compensate',
  },
  'scale-node-pool': {
    forward: [perPool(ScaleNodePoolStep), AwaitActiveStep],
    compensation: [RestoreQuantityStep],
    deadline: true,
    // A scale that is cancelled leaves the pool at what the backend was last asked for.
    cancel: 'stop',
  },
  'delete-node-pool': {
    forward: [perPool(DeleteNodePoolStep), perPool(AwaitNodePoolDeletedStep)],
    compensation: [],
    deadline: false,
  },
  'delete-cluster': {
    forward: [DeleteClusterStep, AwaitClusterDeletedStep],
    compensation: [],
    deadline: false,
  },
} as const satisfies Record<OperationType, OperationDeclaration>;

/** The handlers the worker provides: every step some operation declares. */
export const CLUSTER_STEP_HANDLERS = handlersOf(CLUSTER_OPERATIONS);
