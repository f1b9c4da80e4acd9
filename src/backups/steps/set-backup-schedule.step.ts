import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { BackupStorage } from '../backup-storage.service';
import { BackupsRepository } from '../backups.repository';

/** Sends the new schedule to the backend, then records it (a PUT of the same schedule twice is harmless). */
@Injectable()
export class SetBackupScheduleStep implements OperationStep {
  static readonly key = 'set-backup-schedule';

  constructor(
    private readonly storage: BackupStorage,
    private readonly backups: BackupsRepository,
  ) {}

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    const schedule = operation.params.backupSchedule;
    const settings = await this.backups.settingsOf(cluster.id);
    if (!schedule || !settings || !cluster.rancherId)
      throw new StepError('BACKUPS_NOT_CONFIGURED', 'the cluster has no backups to schedule', false);
    const spec = this.storage.targetOf({ ...settings, ...schedule });
    if (!spec) throw new StepError('BACKUPS_NOT_CONFIGURED', 'no S3 store is configured', false);
    await driver.setBackupSchedule(cluster.rancherId, spec);
    await this.backups.setSchedule(cluster.id, schedule.intervalHours, schedule.retention);
    return DONE;
  }
}
