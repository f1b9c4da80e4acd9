import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';

/** Rancher refuses node pools until the cluster's roles exist (rancher-api.md §11.9): wait for them. */
@Injectable()
export class AwaitRolesStep implements OperationStep {
  static readonly key = 'await-roles';

  async run({ cluster, driver }: StepContext): Promise<StepResult> {
    const remote = cluster.rancherId ? await driver.getCluster(cluster.rancherId) : null;
    if (!remote || remote.removing) {
      throw new StepError(
        'CLUSTER_VANISHED',
        `cluster ${cluster.rancherName} disappeared from the backend`,
        false,
      );
    }
    const ready = remote.conditions.some((c) => c.type === 'InitialRolesPopulated' && c.status === 'True');
    return ready ? DONE : poll(250);
  }
}
