import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  requirePool,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';

/** Sets the pool's quantity on the backend to the one the scale asked for. */
@Injectable()
export class ScaleNodePoolStep implements OperationStep {
  static readonly key = 'scale-node-pool';

  async run(context: StepContext): Promise<StepResult> {
    const pool = requirePool(context);
    if (!pool.rancherId)
      throw new StepError(
        'NODE_POOL_NOT_CREATED',
        `pool ${pool.name} was never created on the backend`,
        false,
      );
    await context.driver.scaleNodePool(pool.rancherId, context.operation.params.quantity ?? pool.quantity);
    return DONE;
  }
}
