import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepResult } from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';
import { ownClusterId } from './backend-objects';

/** Deletes the cluster on the backend, finding it by name when an earlier create's answer was lost. */
@Injectable()
export class DeleteClusterStep implements OperationStep {
  static readonly key = 'delete-cluster';

  constructor(private readonly clusters: ClustersRepository) {}

  async run({ driver, cluster }: StepContext): Promise<StepResult> {
    const remoteId = await ownClusterId(driver, this.clusters, cluster);
    if (remoteId) await driver.deleteCluster(remoteId);
    return DONE;
  }
}
