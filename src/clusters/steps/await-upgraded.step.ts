import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';

/** An upgrade error the backend keeps reporting this long is final (as for a create, see await-active). */
const UPGRADE_ERROR_GRACE_MS = 120_000;

/**
 * Done when the backend reports the cluster `active` and running the new version; the version is
 * recorded then (the status sync would record it too, a cycle later). Rancher retries a failing
 * RKE run with backoff and keeps the cluster `updating` with `transitioning: error`; an error that
 * lasts past the grace fails the operation as `UPGRADE_FAILED` with Rancher's message.
 */
@Injectable()
export class AwaitUpgradedStep implements OperationStep {
  static readonly key = 'await-upgraded';

  constructor(private readonly clusters: ClustersRepository) {}

  async run({ cluster, operation, step, driver }: StepContext): Promise<StepResult> {
    const version = operation.params.kubernetesVersion;
    const remote = cluster.rancherId ? await driver.getCluster(cluster.rancherId) : null;
    if (!remote || !version)
      throw new StepError(
        'CLUSTER_VANISHED',
        `cluster ${cluster.rancherName} is gone from the backend`,
        false,
      );
    if (remote.state === 'active' && remote.kubernetesVersion === version) {
      await this.clusters.setKubernetesVersion(cluster.id, version);
      return DONE;
    }
    const startedAt = step.startedAt?.getTime() ?? Date.now();
    if (remote.transitioning === 'error' && Date.now() - startedAt > UPGRADE_ERROR_GRACE_MS)
      throw new StepError(
        'UPGRADE_FAILED',
        remote.message || 'the backend reports the upgrade failed',
        false,
      );
    return poll(250);
  }
}
