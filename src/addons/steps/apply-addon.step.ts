import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { AddonDelivery } from '../addon-delivery.service';
import { AddonsRepository } from '../addons.repository';
import { addonOf } from './addon-of';

/**
 * Writes the addon's Fleet object on the cluster's backend now (its per-cluster values target
 * added or dropped) rather than at the next sync; the sync would write the same.
 */
@Injectable()
export class ApplyAddonStep implements OperationStep {
  static readonly key = 'apply-addon';

  constructor(
    private readonly addons: AddonsRepository,
    private readonly delivery: AddonDelivery,
  ) {}

  async run(context: StepContext): Promise<StepResult> {
    const addon = await addonOf(this.addons, context);
    const outcome = await this.delivery.apply(addon, context.cluster.backendId, context.driver);
    if (!outcome.applied) throw new StepError(outcome.code, outcome.message, false);
    return DONE;
  }
}
