import { Injectable } from '@nestjs/common';
import { BackupStorage } from '../../backups/backup-storage.service';
import { PADDOCK_LABELS } from '../../rancher-backends/backend-driver';
import { isBackendError } from '../../rancher-backends/backend.errors';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';
import { findOwnCluster, poolSpecOf } from './backend-objects';

/** Creates the cluster on its backend, after looking for an earlier attempt's. */
@Injectable()
export class CreateClusterStep implements OperationStep {
  static readonly key = 'create-cluster';

  constructor(
    private readonly clusters: ClustersRepository,
    private readonly backups: BackupStorage,
  ) {}

  async run({ cluster, driver }: StepContext): Promise<StepResult> {
    // The pools go along for a kind that makes them with the cluster (rke2); rke1 ignores them.
    if (cluster.rancherId) return DONE;
    const existing = await driver.findClusterByName(cluster.rancherName);
    if (existing) {
      if (existing.labels[PADDOCK_LABELS.clusterId] !== cluster.id) {
        throw new StepError(
          'NAME_TAKEN_ON_BACKEND',
          `a cluster named ${cluster.rancherName} that Paddock did not create exists on the backend`,
          false,
        );
      }
      await this.clusters.setRancherId(cluster.id, existing.id);
      return DONE;
    }
    let created;
    try {
      created = await driver.createCluster({
        name: cluster.rancherName,
        kubernetesVersion: cluster.kubernetesVersion ?? undefined,
        labels: {
          [PADDOCK_LABELS.managed]: 'true',
          [PADDOCK_LABELS.clusterId]: cluster.id,
          [PADDOCK_LABELS.projectId]: cluster.projectId,
        },
        nodePools: (await this.clusters.poolsOf([cluster.id])).map((pool) => poolSpecOf(cluster, pool)),
        backup: await this.backups.specFor(cluster.id),
      });
    } catch (error) {
      // An earlier attempt that timed out can land after this attempt's look-up: the name is then
      // taken by our own cluster, which a second look-up finds (its label proves it is ours).
      // (rke2 says AlreadyExists, rke1 NotUnique.)
      if (!(isBackendError(error) && ['NotUnique', 'AlreadyExists'].includes(error.rancherCode ?? '')))
        throw error;
      const own = await findOwnCluster(driver, cluster);
      if (!own) throw error;
      created = own;
    }
    await this.clusters.setRancherId(cluster.id, created.id);
    return DONE;
  }
}
