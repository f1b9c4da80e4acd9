import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, requirePool, StepContext, StepResult } from '../../operations/operation-step';

/** Undoes a scale: the pool's quantity on the backend goes back to what it was before. */
@Injectable()
export class RestoreQuantityStep implements OperationStep {
  static readonly key = 'restore-quantity';

  async run(context: StepContext): Promise<StepResult> {
    const pool = requirePool(context);
    const previous = context.operation.params.previousQuantity;
    if (pool.rancherId && previous !== undefined)
      await context.driver.scaleNodePool(pool.rancherId, previous);
    return DONE;
  }
}
