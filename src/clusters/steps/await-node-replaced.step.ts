import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import {
  DONE,
  OperationStep,
  poll,
  requirePool,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { NodesRepository } from '../nodes.repository';

/**
 * Done when the status sync (run after this step began) no longer lists the deleted node and
 * lists the pool at its quantity with every node active: the backend has made the replacement and
 * it has joined. A node the backend never replaces keeps this step polling until the operation's
 * deadline fails it.
 */
@Injectable()
export class AwaitNodeReplacedStep implements OperationStep {
  static readonly key = 'await-node-replaced';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly nodes: NodesRepository,
  ) {}

  async run(context: StepContext): Promise<StepResult> {
    const { cluster, step, operation } = context;
    const pool = requirePool(context);
    const node = operation.params.node;
    if (!node) throw new StepError('NODE_MISSING', 'the operation names no node to replace', false);
    const startedAt = step.startedAt?.getTime() ?? Date.now();
    const synced = cluster.statusUpdatedAt !== null && cluster.statusUpdatedAt.getTime() >= startedAt;
    const replaced =
      synced &&
      !(await this.nodes.hasNode(cluster.id, node.rancherId)) &&
      pool.remoteQuantity === pool.quantity &&
      pool.readyNodes === pool.quantity;
    return replaced ? DONE : poll(Math.max(250, Math.floor(this.config.syncPeriodMs / 2)));
  }
}
