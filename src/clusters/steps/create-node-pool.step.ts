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
import { hostnamePrefixFor } from '../cluster-names';
import { ClustersRepository } from '../clusters.repository';

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
    const created = await driver.createNodePool({
      clusterId: cluster.rancherId,
      hostnamePrefix: hostnamePrefixFor(cluster.name, pool.name),
      quantity: pool.quantity,
      roles: {
        etcd: pool.roles.includes('etcd'),
        controlPlane: pool.roles.includes('controlplane'),
        worker: pool.roles.includes('worker'),
      },
      nodeTemplateId: pool.nodeTemplateId,
      labels: {
        [PADDOCK_LABELS.managed]: 'true',
        [PADDOCK_LABELS.clusterId]: cluster.id,
        [PADDOCK_LABELS.poolId]: pool.id,
      },
    });
    await this.clusters.setPoolRancherId(pool.id, created.id);
    return DONE;
  }
}
