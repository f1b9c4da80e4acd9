import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { BackupsRepository } from '../backups.repository';

/** Done when the backup is `active` (and then listed at once); a `failed` one fails the operation with its message. */
@Injectable()
export class AwaitBackupStep implements OperationStep {
  static readonly key = 'await-backup';

  constructor(private readonly backups: BackupsRepository) {}

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    const id = operation.params.backupId;
    if (!id) throw new StepError('BACKUP_MISSING', 'no backup was taken', false);
    const backup = await driver.getBackup(id);
    if (!backup)
      throw new StepError(
        'BACKUP_VANISHED',
        `backup ${operation.params.backupName ?? id} disappeared from the backend`,
        false,
      );
    if (backup.state === 'failed')
      throw new StepError('BACKUP_FAILED', backup.message || 'the backend reports the backup failed', false);
    if (backup.state !== 'active') return poll(250);
    // Listed now rather than at the next sync, so the answer to "did it work" and the list agree.
    await this.backups.upsertPage(cluster.backendId, [backup], new Date());
    return DONE;
  }
}
