import { Injectable } from '@nestjs/common';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { AddonsRepository } from '../addons.repository';
import { ClusterAddonsRepository } from '../cluster-addons.repository';
import { addonOf } from './addon-of';

/**
 * Done when the status sync has seen the addon installed on the cluster at the generation the
 * backend's object carries now (at least the one apply-addon wrote, with this cluster's target):
 * a state read before that write may be the release without the cluster's values, which the
 * next write changes again. Failed at that generation ends the operation.
 */
@Injectable()
export class AwaitAddonStep implements OperationStep {
  static readonly key = 'await-addon';

  constructor(
    private readonly addons: AddonsRepository,
    private readonly clusterAddons: ClusterAddonsRepository,
  ) {}

  async run(context: StepContext): Promise<StepResult> {
    const addon = await addonOf(this.addons, context);
    const row = await this.clusterAddons.clusterRow(context.cluster.id, addon.id);
    const applied = await this.addons.appliedGeneration(addon.id, context.cluster.backendId);
    if (!row || row.observedGeneration < applied) return poll(500);
    if (row.state === 'installed') return DONE;
    if (row.state === 'failed')
      throw new StepError('ADDON_FAILED', row.message || `addon ${addon.name} failed on the cluster`, false);
    return poll(500);
  }
}
