import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepResult } from '../../operations/operation-step';

/**
 * Removes the machine configs Paddock made for the cluster (or for the step's pool), once the
 * cluster or pool that used them is gone: a create that failed half-way or a delete leaves no
 * orphan on the backend. Idempotent: configs already gone are skipped.
 */
@Injectable()
export class DeleteMachineConfigsStep implements OperationStep {
  static readonly key = 'delete-machine-configs';

  async run({ cluster, pool, driver }: StepContext): Promise<StepResult> {
    await driver.releaseNodePools({ clusterId: cluster.id, poolId: pool?.id });
    return DONE;
  }
}
