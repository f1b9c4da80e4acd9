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
import { addonOf } from './addon-of';

/** Done when the status sync has seen the addon installed on the cluster; failed ends the operation. */
@Injectable()
export class AwaitAddonStep implements OperationStep {
  static readonly key = 'await-addon';

  constructor(private readonly addons: AddonsRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const addon = await addonOf(this.addons, context);
    const row = await this.addons.clusterRow(context.cluster.id, addon.id);
    if (row?.state === 'installed') return DONE;
    if (row?.state === 'failed')
      throw new StepError('ADDON_FAILED', row.message || `addon ${addon.name} failed on the cluster`, false);
    return poll(500);
  }
}
