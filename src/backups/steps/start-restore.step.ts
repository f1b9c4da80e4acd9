import { Injectable } from '@nestjs/common';
import { OperationsRepository } from '../../operations/operations.repository';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';

/** Asks the backend to restore the cluster from the backup (once: the answer is recorded). */
@Injectable()
export class StartRestoreStep implements OperationStep {
  static readonly key = 'start-restore';

  constructor(private readonly operations: OperationsRepository) {}

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    if (operation.params.restoreRequested) return DONE;
    const backupId = operation.params.backupId;
    if (!backupId || !cluster.rancherId)
      throw new StepError('BACKUP_MISSING', 'the restore names no backup on the backend', false);
    await driver.restoreBackup(
      cluster.rancherId,
      backupId,
      operation.params.restoreKubernetesVersion === true,
    );
    await this.operations.mergeParams(operation.id, { restoreRequested: true });
    return DONE;
  }
}
