import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  requirePool,
  StepContext,
  StepResult,
} from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';
import { deleteOwnNodePool } from './backend-objects';

/** Done once the pool is gone from the backend; the delete is sent again each look, in case it was lost. */
@Injectable()
export class AwaitNodePoolDeletedStep implements OperationStep {
  static readonly key = 'await-node-pool-deleted';

  constructor(private readonly clusters: ClustersRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const remoteId = await deleteOwnNodePool(
      context.driver,
      this.clusters,
      context.cluster,
      requirePool(context),
    );
    return remoteId && (await context.driver.getNodePool(remoteId)) ? poll(500) : DONE;
  }
}
