import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';

/**
 * Done when the backend reports the cluster active again with the restore finished. A failure
 * the backend reports fails the operation with its message: RKE would retry the same restore
 * forever, and a snapshot that is gone or unreadable does not come back by waiting.
 */
@Injectable()
export class AwaitRestoreStep implements OperationStep {
  static readonly key = 'await-restore';

  async run({ cluster, driver }: StepContext): Promise<StepResult> {
    if (!cluster.rancherId)
      throw new StepError('CLUSTER_NOT_CREATED', 'the cluster is not on the backend', false);
    const progress = await driver.restoreProgress(cluster.rancherId);
    switch (progress.phase) {
      case 'done':
        return DONE;
      case 'running':
        return poll(250);
      case 'failed':
        throw new StepError('RESTORE_FAILED', progress.message, false);
      case 'gone':
        throw new StepError(
          'CLUSTER_VANISHED',
          `cluster ${cluster.rancherName} disappeared from the backend`,
          false,
        );
    }
  }
}
