import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, poll, StepContext, StepResult } from '../../operations/operation-step';
import { ClusterAddonsRepository } from '../cluster-addons.repository';

/** Done when the status sync found no deployment of the addon left on the cluster (its row is gone). */
@Injectable()
export class AwaitAddonRemovedStep implements OperationStep {
  static readonly key = 'await-addon-removed';

  constructor(private readonly clusterAddons: ClusterAddonsRepository) {}

  async run({ cluster, operation }: StepContext): Promise<StepResult> {
    const row = operation.params.addonId
      ? await this.clusterAddons.clusterRow(cluster.id, operation.params.addonId)
      : null;
    // Opted in again meanwhile: nothing left to wait for.
    if (!row || row.optedIn) return DONE;
    return poll(500);
  }
}
