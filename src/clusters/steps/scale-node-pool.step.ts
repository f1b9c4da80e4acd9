import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  requirePool,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';

/**
 * Sets the pool's quantity on the backend to the one the scale asked for, and its auto-replace
 * setting when the same request changed that too (recorded once the backend has it).
 */
@Injectable()
export class ScaleNodePoolStep implements OperationStep {
  static readonly key = 'scale-node-pool';

  constructor(private readonly clusters: ClustersRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const pool = requirePool(context);
    if (!pool.rancherId)
      throw new StepError(
        'NODE_POOL_NOT_CREATED',
        `pool ${pool.name} was never created on the backend`,
        false,
      );
    await context.driver.scaleNodePool(pool.rancherId, context.operation.params.quantity ?? pool.quantity);
    const autoReplace = context.operation.params.autoReplaceSeconds;
    if (autoReplace !== undefined) {
      await context.driver.setNodePoolAutoReplace(pool.rancherId, autoReplace);
      await this.clusters.setPoolAutoReplace(pool.id, autoReplace);
    }
    return DONE;
  }
}
