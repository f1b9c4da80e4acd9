import { BACKUP_OPERATIONS } from '../backups/backup-operations';
import { EnsureBucketStep } from '../backups/steps/ensure-bucket.step';
import { RemoveBucketStep } from '../backups/steps/remove-bucket.step';
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
    // The bucket comes first: the backend refuses a cluster whose backups point at no bucket.
    forward: [
      EnsureBucketStep,
      CreateClusterStep,
      AwaitRolesStep,
      perPool(CreateNodePoolStep),
      AwaitActiveStep,
    ],
    // ...and goes last, once no cluster is left to write into it.
    compensation: [DeleteClusterStep, AwaitClusterDeletedStep, RemoveBucketStep],
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
    forward: [DeleteClusterStep, AwaitClusterDeletedStep, RemoveBucketStep],
    compensation: [],
    deadline: false,
  },
  ...BACKUP_OPERATIONS,
} as const satisfies Record<OperationType, OperationDeclaration>;

/** The handlers the worker provides: every step some operation declares. */
export const CLUSTER_STEP_HANDLERS = handlersOf(CLUSTER_OPERATIONS);
