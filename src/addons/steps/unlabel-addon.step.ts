import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepResult } from '../../operations/operation-step';
import { optInLabel } from '../addon.types';
import { rancherIdOf } from './addon-of';

/** Takes the opt-in label off: Fleet no longer targets the cluster and uninstalls the addon. */
@Injectable()
export class UnlabelAddonStep implements OperationStep {
  static readonly key = 'unlabel-addon';

  async run(context: StepContext): Promise<StepResult> {
    const name = context.operation.params.addonName ?? '';
    await context.driver.setClusterLabel(rancherIdOf(context), optInLabel(name), null);
    return DONE;
  }
}
