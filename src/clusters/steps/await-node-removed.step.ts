import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../../database/unit-of-work';
import { NodeRegistrationLedger } from '../../node-registrations/node-registration-ledger.service';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';

const POLL_MS = 1_000;

/**
 * Waits until the backend no longer lists the removed node, then frees the quota it held (and its
 * registration's slot) in one transaction. The status sync frees it the same way if it sees the
 * node gone first; whichever comes second finds nothing left to free.
 */
@Injectable()
export class AwaitNodeRemovedStep implements OperationStep {
  static readonly key = 'await-node-removed';

  constructor(
    private readonly uow: UnitOfWork,
    private readonly ledger: NodeRegistrationLedger,
  ) {}

  async run(context: StepContext): Promise<StepResult> {
    const id = context.operation.params.node?.rancherId;
    if (!id) throw new StepError('NODE_MISSING', 'the operation names no node', false);
    if (await context.driver.getNode(id)) return poll(POLL_MS);
    await this.uow.run(() => this.ledger.nodeGone(id));
    return DONE;
  }
}
