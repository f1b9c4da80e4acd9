import { ADDON_OPERATIONS } from '../addons/addon-operations';
import { BACKUP_OPERATIONS } from '../backups/backup-operations';
import { EnsureBucketStep } from '../backups/steps/ensure-bucket.step';
import { RemoveBucketStep } from '../backups/steps/remove-bucket.step';
import type { OperationDeclaration } from '../operations/operation-declaration';
import { handlersOf, perPool } from '../operations/operation-declaration';
import type { OperationType } from '../operations/operation.types';
import type { BackendKind } from '../rancher-backends/backend-driver';
import { AwaitActiveStep } from './steps/await-active.step';
import { AwaitClusterDeletedStep } from './steps/await-cluster-deleted.step';
import { AwaitNodePoolDeletedStep } from './steps/await-node-pool-deleted.step';
import { AwaitNodeReplacedStep } from './steps/await-node-replaced.step';
import { AwaitRolesStep } from './steps/await-roles.step';
import { AwaitUpgradeStartedStep } from './steps/await-upgrade-started.step';
import { AwaitUpgradedStep } from './steps/await-upgraded.step';
import { CreateClusterStep } from './steps/create-cluster.step';
import { CreateMachineConfigStep } from './steps/create-machine-config.step';
import { CreateNodePoolStep } from './steps/create-node-pool.step';
import { DeleteClusterStep } from './steps/delete-cluster.step';
import { DeleteMachineConfigsStep } from './steps/delete-machine-configs.step';
import { DeleteNodePoolStep } from './steps/delete-node-pool.step';
import { AwaitNodeRemovedStep } from './steps/await-node-removed.step';
import { DeleteNodeStep } from './steps/delete-node.step';
import { RestoreQuantityStep } from './steps/restore-quantity.step';
import { ScaleNodePoolStep } from './steps/scale-node-pool.step';
import { SetKubernetesVersionStep } from './steps/set-kubernetes-version.step';
import { SetAutoReplaceStep } from './steps/set-auto-replace.step';

/**
 * What each operation on a cluster does, step by step, and how it is undone, per backend kind.
 * Every step looks before it acts and persists what it got, so a step that runs twice (after a
 * crash or a redelivered job) does no harm. The runner dispatches each persisted step to its
 * handler by key; the steps are written when the operation is recorded, for its cluster's kind.
 *
 * Why the declarations, not the steps, know the kind: the two kinds build a cluster in a different
 * order (rke1: cluster, wait for its roles, then one pool create each; rke2: one machine config per
 * pool, then one cluster object with every pool inline), and their undo differs (rke2 must remove
 * the machine configs it made). Steps that did nothing on one kind would still be shown, retried
 * and counted; declared per kind, each operation lists only the steps that do something, while
 * every step stays kind-blind and reaches the backend only through the `BackendDriver`.
 *
 * rke1 (norman /v3, Rancher ≤ 2.11):
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
  // The same three steps on both kinds; only the driver's write differs. Nothing to undo: a
  // downgrade is not something Kubernetes supports, so a failed upgrade is left for people.
  upgrade: {
    forward: [SetKubernetesVersionStep, AwaitUpgradeStartedStep, AwaitUpgradedStep],
    compensation: [],
    deadline: true,
    // A cancelled upgrade keeps whatever the backend was already asked for.
    cancel: 'stop',
  },
  // A registered (own) node: the same delete as a replacement's, but no pool makes a new one; its
  // quota is freed once the backend no longer lists it. Like every delete, it runs until done.
  'remove-node': {
    forward: [DeleteNodeStep, AwaitNodeRemovedStep],
    compensation: [],
    deadline: false,
  },
  // One node deleted (`DELETE /v3/nodes/<id>`); its pool, at the same quantity, makes a new one.
  // A deleted node cannot be undone; a cancel stops waiting and keeps what the backend does.
  'replace-node': {
    forward: [DeleteNodeStep, AwaitNodeReplacedStep],
    compensation: [],
    deadline: true,
    cancel: 'stop',
  },
  'set-auto-replace': {
    forward: [perPool(SetAutoReplaceStep)],
    compensation: [],
    deadline: true,
  },
  ...BACKUP_OPERATIONS,
  ...ADDON_OPERATIONS,
} as const satisfies Record<OperationType, OperationDeclaration>;

/**
 * rke2 (provisioning v2): creates are P machine-config POSTs and one cluster POST; the
 * `create-node-pool` steps then find the inline pools (no write) and record their ids. Pool
 * changes are each one update of the cluster object (see rke2.driver.ts).
 */
export const RKE2_CLUSTER_OPERATIONS = {
  'create-cluster': {
    // RKE2 checks the bucket only when it uploads a snapshot; made first all the same, so the
    // first recurring snapshot never finds it missing.
    forward: [
      EnsureBucketStep,
      perPool(CreateMachineConfigStep),
      CreateClusterStep,
      perPool(CreateNodePoolStep),
      AwaitActiveStep,
    ],
    compensation: [DeleteClusterStep, AwaitClusterDeletedStep, DeleteMachineConfigsStep, RemoveBucketStep],
    deadline: true,
    cancel: 'compensate',
  },
  'add-node-pool': {
    forward: [perPool(CreateMachineConfigStep), perPool(CreateNodePoolStep), AwaitActiveStep],
    compensation: [DeleteNodePoolStep, AwaitNodePoolDeletedStep, DeleteMachineConfigsStep],
    deadline: true,
    cancel: 'compensate',
  },
  'scale-node-pool': CLUSTER_OPERATIONS['scale-node-pool'],
  'delete-node-pool': {
    forward: [
      perPool(DeleteNodePoolStep),
      perPool(AwaitNodePoolDeletedStep),
      perPool(DeleteMachineConfigsStep),
    ],
    compensation: [],
    deadline: false,
  },
  'delete-cluster': {
    // The machine configs and the cluster's S3 credential go once the cluster is gone (Rancher
    // refuses to delete a credential a cluster still names), the bucket last.
    forward: [DeleteClusterStep, AwaitClusterDeletedStep, DeleteMachineConfigsStep, RemoveBucketStep],
    compensation: [],
    deadline: false,
  },
  upgrade: CLUSTER_OPERATIONS.upgrade,
  // The custom machine goes (no MachineSet owns it, so none replaces it).
  'remove-node': CLUSTER_OPERATIONS['remove-node'],
  // The CAPI machine is deleted; its MachineSet, at the same replicas, makes a new one. The same
  // steps as rke1: the driver knows which object a node is.
  'replace-node': CLUSTER_OPERATIONS['replace-node'],
  'set-auto-replace': CLUSTER_OPERATIONS['set-auto-replace'],
  ...BACKUP_OPERATIONS,
  ...ADDON_OPERATIONS,
} as const satisfies Record<OperationType, OperationDeclaration>;

const OPERATIONS_BY_KIND: Record<BackendKind, Record<OperationType, OperationDeclaration>> = {
  rke1: CLUSTER_OPERATIONS,
  rke2: RKE2_CLUSTER_OPERATIONS,
};

/** The declaration of an operation on a cluster of a backend of `kind`. */
export const declarationOf = (kind: BackendKind, type: OperationType): OperationDeclaration =>
  OPERATIONS_BY_KIND[kind][type];

/** The handlers the worker provides: every step some operation of some kind declares. */
export const CLUSTER_STEP_HANDLERS = [
  ...new Set([...handlersOf(CLUSTER_OPERATIONS), ...handlersOf(RKE2_CLUSTER_OPERATIONS)]),
];
