import { Injectable } from '@nestjs/common';
import {
  OperationStep,
  requirePool,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { SetAutoReplaceStep } from './set-auto-replace.step';

/**
 * Sets the pool's quantity on the backend to the one the scale asked for, then, when the same
 * request changed the pool's auto-replace setting too, writes it as the `set-auto-replace`
 * operation does (one PATCH is one operation, so the scale carries both writes).
 */
@Injectable()
export class ScaleNodePoolStep implements OperationStep {
  static readonly key = 'scale-node-pool';

  constructor(private readonly autoReplace: SetAutoReplaceStep) {}

  async run(context: StepContext): Promise<StepResult> {
    const pool = requirePool(context);
    if (!pool.rancherId)
      throw new StepError(
        'NODE_POOL_NOT_CREATED',
        `pool ${pool.name} was never created on the backend`,
        false,
      );
    await context.driver.scaleNodePool(pool.rancherId, context.operation.params.quantity ?? pool.quantity);
    return this.autoReplace.run(context);
  }
}
