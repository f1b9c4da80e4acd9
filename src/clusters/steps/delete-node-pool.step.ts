import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, requirePool, StepContext, StepResult } from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';
import { deleteOwnNodePool } from './backend-objects';

/** Deletes the pool on the backend (if it got there). */
@Injectable()
export class DeleteNodePoolStep implements OperationStep {
  static readonly key = 'delete-node-pool';

  constructor(private readonly clusters: ClustersRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    await deleteOwnNodePool(context.driver, this.clusters, context.cluster, requirePool(context));
    return DONE;
  }
}
