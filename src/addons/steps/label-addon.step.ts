import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepResult } from '../../operations/operation-step';
import { optInLabel } from '../addon.types';
import { AddonsRepository } from '../addons.repository';
import { addonOf, rancherIdOf } from './addon-of';

/** Puts the addon's opt-in label on the cluster, where Rancher copies it to the Fleet cluster. */
@Injectable()
export class LabelAddonStep implements OperationStep {
  static readonly key = 'label-addon';

  constructor(private readonly addons: AddonsRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const addon = await addonOf(this.addons, context);
    await context.driver.setClusterLabel(rancherIdOf(context), optInLabel(addon.name), addon.id);
    return DONE;
  }
}
