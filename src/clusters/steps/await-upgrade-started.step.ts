import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';

/**
 * Done once the backend has taken up the new version: the cluster reads `updating` (rke1
 * `Updated=Unknown`; rke2 the controller acting on the new spec), or it already runs the new
 * version (the whole upgrade fitted between two looks). Without this step the next one could see
 * the cluster still `active` on the old version before Rancher started, and wait on a change that
 * may never have begun; with it, the deadline is the only wait that can run out.
 */
@Injectable()
export class AwaitUpgradeStartedStep implements OperationStep {
  static readonly key = 'await-upgrade-started';

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    const remote = cluster.rancherId ? await driver.getCluster(cluster.rancherId) : null;
    if (!remote)
      throw new StepError(
        'CLUSTER_VANISHED',
        `cluster ${cluster.rancherName} is gone from the backend`,
        false,
      );
    if (remote.state === 'updating' || remote.state === 'upgrading') return DONE;
    if (remote.state === 'active' && remote.kubernetesVersion === operation.params.kubernetesVersion)
      return DONE;
    return poll(250);
  }
}
