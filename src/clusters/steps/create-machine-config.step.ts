import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, requirePool, StepContext, StepResult } from '../../operations/operation-step';
import { poolSpecOf } from './backend-objects';

/**
 * Makes what one pool needs on the backend before its cluster or pool is created (on rke2 its
 * machine config). The driver looks for an earlier attempt's by the pool's label first, so a
 * create whose answer was lost is found, not made twice.
 */
@Injectable()
export class CreateMachineConfigStep implements OperationStep {
  static readonly key = 'create-machine-config';

  async run(context: StepContext): Promise<StepResult> {
    await context.driver.prepareNodePool(poolSpecOf(context.cluster, requirePool(context)));
    return DONE;
  }
}
