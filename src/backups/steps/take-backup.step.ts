import { Injectable } from '@nestjs/common';
import { OperationsRepository } from '../../operations/operations.repository';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';

/**
 * Asks the backend for a backup now and keeps its id for the next step. Taking one is not
 * idempotent on the backend: a retry after a lost answer may leave one more manual backup, which
 * costs a snapshot but no harm.
 */
@Injectable()
export class TakeBackupStep implements OperationStep {
  static readonly key = 'take-backup';

  constructor(private readonly operations: OperationsRepository) {}

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    if (operation.params.backupId) return DONE;
    if (!cluster.rancherId)
      throw new StepError('CLUSTER_NOT_CREATED', 'the cluster does not exist on the backend', false);
    const backup = await driver.takeBackup(cluster.rancherId);
    await this.operations.mergeParams(operation.id, { backupId: backup.id, backupName: backup.name });
    return DONE;
  }
}
