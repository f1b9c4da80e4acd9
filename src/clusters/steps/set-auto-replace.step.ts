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
 * Writes the pool's auto-replace setting to the backend, then records it: the pool read shows what
 * the backend has, never a setting that did not get there. Writing the same value twice is a no-op.
 */
@Injectable()
export class SetAutoReplaceStep implements OperationStep {
  static readonly key = 'set-auto-replace';

  constructor(private readonly clusters: ClustersRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const pool = requirePool(context);
    const seconds = context.operation.params.autoReplaceSeconds;
    if (seconds === undefined) return DONE;
    if (!pool.rancherId) {
      throw new StepError(
        'NODE_POOL_NOT_CREATED',
        `pool ${pool.name} was never created on the backend`,
        false,
      );
    }
    await context.driver.setNodePoolAutoReplace(pool.rancherId, seconds);
    await this.clusters.setPoolAutoReplace(pool.id, seconds);
    return DONE;
  }
}
