import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';

/**
 * Removes a registered (own) node on the backend: rke1 deletes the custom node, rke2 its custom
 * machine. Neither belongs to a pool, so nothing brings it back. Deleting twice is harmless.
 */
@Injectable()
export class RemoveRegisteredNodeStep implements OperationStep {
  static readonly key = 'remove-registered-node';

  async run(context: StepContext): Promise<StepResult> {
    const id = context.operation.params.nodeRancherId;
    if (!id) throw new StepError('NODE_MISSING', 'the operation names no node', false);
    await context.driver.deleteNode(id);
    return DONE;
  }
}
