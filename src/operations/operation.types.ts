/** Operations and their steps as the services, the runner and the repository speak of them. */

export const OPERATION_TYPES = [
  'create-cluster',
  'delete-cluster',
  'add-node-pool',
  'scale-node-pool',
  'delete-node-pool',
  'take-backup',
  'restore-backup',
  'update-backup-schedule',
  'upgrade',
  'replace-node',
  'set-auto-replace',
  'remove-node',
  'install-addon',
  'uninstall-addon',
] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const OPERATION_STATES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

export const STEP_STATES = ['pending', 'running', 'succeeded', 'failed'] as const;
export type StepState = (typeof STEP_STATES)[number];

/**
 * `forward` runs the operation's own steps; after a permanent failure it turns `compensating`
 * and runs the undo steps. Each step row carries the phase it belongs to.
 */
export type OperationPhase = 'forward' | 'compensating';

export const isFinal = (state: OperationState) => state !== 'pending' && state !== 'running';

export interface StepRecord {
  position: number;
  /** The handler that runs this step (see the step registry). */
  key: string;
  phase: OperationPhase;
  /** What the API shows, fixed when the step is written: the key, the pool, `compensate:`. */
  label: string;
  nodePoolId: string | null;
  state: StepState;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastError: string | null;
  lastErrorCode: string | null;
}

export interface OperationParams {
  /** Scale: the quantity asked for and the one to restore if the scale fails. */
  quantity?: number;
  previousQuantity?: number;
  /** Backups: the backend's id of the backup taken or restored, and its name. */
  backupId?: string;
  backupName?: string;
  /** Restore: whether the cluster goes back to the backup's Kubernetes version too. */
  restoreKubernetesVersion?: boolean;
  /** Set once the restore was asked for, so a retry does not ask again. */
  restoreRequested?: boolean;
  /** The cluster's state when the restore was asked for: what it goes back to if the backend never got it. */
  clusterStateBefore?: 'active' | 'updating' | 'error';
  /** A schedule change: the new schedule. */
  backupSchedule?: { intervalHours: number; retention: number };
  /** An upgrade: the version asked for (`v1.32.5`) and the one the cluster ran before. */
  kubernetesVersion?: string;
  previousKubernetesVersion?: string;
  /** Set once the backend accepted the new version, so a failure after it leaves `error`, not `active`. */
  versionWritten?: boolean;
  /** Replace-node: the node deleted on the backend (its Rancher id) and its hostname then. */
  node?: { rancherId: string; hostname: string };
  /** Set-auto-replace, or a scale that also changes it: the new setting (null: off). */
  autoReplaceSeconds?: number | null;
  /** Addon opt-in and opt-out: the addon (its id survives a rename of nothing: names are fixed). */
  addonId?: string;
  addonName?: string;
}

export interface OperationRecord {
  id: string;
  projectId: string;
  projectName: string;
  clusterId: string;
  clusterName: string;
  nodePoolId: string | null;
  nodePoolName: string | null;
  type: OperationType;
  state: OperationState;
  phase: OperationPhase;
  params: OperationParams;
  errorCode: string | null;
  errorMessage: string | null;
  /** Set once a cancel was accepted; the runner acts on it at the next step boundary. */
  cancelRequestedAt: Date | null;
  cancelRequestedBy: string | null;
  deadlineAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  steps: StepRecord[];
}

/** A step as written before it runs. */
export type NewStep = Pick<StepRecord, 'key' | 'label' | 'nodePoolId'>;

export interface NewOperation {
  id: string;
  projectId: string;
  clusterId: string;
  nodePoolId: string | null;
  type: OperationType;
  params: OperationParams;
  deadlineAt: Date;
  steps: NewStep[];
}
