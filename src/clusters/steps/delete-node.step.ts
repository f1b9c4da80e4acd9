import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';

/**
 * Deletes the node being replaced on the backend, by the Rancher id recorded with the operation.
 * The pool keeps its quantity, so the backend makes a new node in its place. Idempotent: the id
 * of a node is never reused (RKE1 reuses the hostname, not the `m-xxxxx` id; RKE2 machines get a
 * new name), so sending it again can only find the same node, or nothing.
 */
@Injectable()
export class DeleteNodeStep implements OperationStep {
  static readonly key = 'delete-node';

  async run({ operation, driver }: StepContext): Promise<StepResult> {
    const node = operation.params.node;
    if (!node) throw new StepError('NODE_MISSING', 'the operation names no node to replace', false);
    await driver.deleteNode(node.rancherId);
    return DONE;
  }
}
