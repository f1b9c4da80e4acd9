import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, poll, StepContext, StepResult } from '../../operations/operation-step';
import { findOwnCluster } from './backend-objects';

/** Done once the cluster is gone from the backend. */
@Injectable()
export class AwaitClusterDeletedStep implements OperationStep {
  static readonly key = 'await-cluster-deleted';

  async run({ driver, cluster }: StepContext): Promise<StepResult> {
    const remoteId = cluster.rancherId ?? (await findOwnCluster(driver, cluster))?.id;
    if (!remoteId) return DONE;
    const remote = await driver.getCluster(remoteId);
    if (!remote) return DONE;
    // A cluster that is not yet removing (the delete was lost) gets the delete again.
    if (!remote.removing) await driver.deleteCluster(remoteId);
    return poll(500);
  }
}
