import { Injectable } from '@nestjs/common';
import { PADDOCK_LABELS } from '../../rancher-backends/backend-driver';
import {
  DONE,
  OperationStep,
  requirePool,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';
import { poolSpecOf } from './backend-objects';

/** Creates one pool on the backend, after looking for an earlier attempt's (by the pool's label). */
@Injectable()
export class CreateNodePoolStep implements OperationStep {
  static readonly key = 'create-node-pool';

  constructor(private readonly clusters: ClustersRepository) {}

  async run(context: StepContext): Promise<StepResult> {
    const { cluster, driver } = context;
    const pool = requirePool(context);
    if (pool.rancherId) return DONE;
    if (!cluster.rancherId)
      throw new StepError('CLUSTER_NOT_CREATED', 'the cluster does not exist on the backend yet', false);
    const existing = (await driver.listNodePools(cluster.rancherId)).find(
      (p) => p.labels[PADDOCK_LABELS.poolId] === pool.id,
    );
    if (existing) {
      await this.clusters.setPoolRancherId(pool.id, existing.id);
      return DONE;
    }
    // A pool the cluster was created with (rke2 makes them inline) is found by the look-up above.
    const created = await driver.createNodePool(poolSpecOf(cluster, pool));
    await this.clusters.setPoolRancherId(pool.id, created.id);
    return DONE;
  }
}
