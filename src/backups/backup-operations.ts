import type { OperationDeclaration } from '../operations/operation-declaration';
import { AwaitBackupStep } from './steps/await-backup.step';
import { AwaitRestoreStep } from './steps/await-restore.step';
import { SetBackupScheduleStep } from './steps/set-backup-schedule.step';
import { StartRestoreStep } from './steps/start-restore.step';
import { TakeBackupStep } from './steps/take-backup.step';

/**
 * The backup operations. None has anything to undo: a backup taken stays (it is data), a
 * restore cannot be taken back, and a schedule that was not accepted was not changed. The
 * bucket steps belong to the create and delete of a cluster (cluster-operations.ts).
 */
export const BACKUP_OPERATIONS = {
  'take-backup': {
    forward: [TakeBackupStep, AwaitBackupStep],
    compensation: [],
    deadline: true,
  },
  'restore-backup': {
    forward: [StartRestoreStep, AwaitRestoreStep],
    compensation: [],
    deadline: true,
  },
  'update-backup-schedule': {
    forward: [SetBackupScheduleStep],
    compensation: [],
    deadline: true,
  },
} as const satisfies Record<string, OperationDeclaration>;
