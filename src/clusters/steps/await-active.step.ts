import { Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { PADDOCK_LABELS } from '../../rancher-backends/backend-driver';
import {
  DONE,
  OperationStep,
  poll,
  StepContext,
  StepError,
  StepResult,
} from '../../operations/operation-step';
import { ClustersRepository } from '../clusters.repository';

/** A provisioning error the backend keeps reporting this long is treated as final (terraform waits 120 s too). */
const PROVISIONING_ERROR_GRACE_MS = 120_000;

/**
 * Done when the status sync (not this step) has seen the cluster and its pools ready, and a last
 * look at the backend's pools finds no duplicate: a pool create that timed out can still land after
 * the retry's look-up created the pool again (Rancher does not make pool names unique), and on rke2
 * a machine config can land after the cluster was made from the retry's copy. By then any such
 * request has long ended, so one look here removes the stray copies.
 */
@Injectable()
export class AwaitActiveStep implements OperationStep {
  static readonly key = 'await-active';
  private readonly logger = new Logger(AwaitActiveStep.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clusters: ClustersRepository,
  ) {}

  async run({ cluster, step, driver }: StepContext): Promise<StepResult> {
    const pools = await this.clusters.poolsOf([cluster.id]);
    const startedAt = step.startedAt?.getTime() ?? Date.now();
    if (cluster.remoteTransitioning === 'error' && Date.now() - startedAt > PROVISIONING_ERROR_GRACE_MS) {
      throw new StepError(
        'CLUSTER_PROVISIONING_FAILED',
        cluster.remoteMessage ?? 'the backend reports a provisioning error',
        false,
      );
    }
    const synced = cluster.statusUpdatedAt !== null && cluster.statusUpdatedAt.getTime() >= startedAt;
    const poolsReady = pools
      .filter((p) => p.state !== 'deleting')
      .every((p) => p.remoteQuantity === p.quantity && p.readyNodes === p.quantity);
    if (!(synced && cluster.remoteState === 'active' && poolsReady)) {
      return poll(Math.max(250, Math.floor(this.config.syncPeriodMs / 2)));
    }
    if (!cluster.rancherId) return DONE;
    const ours = new Map(pools.filter((p) => p.rancherId).map((p) => [p.id, p.rancherId]));
    const strays = (await driver.listNodePools(cluster.rancherId)).filter((remote) => {
      const owner = remote.labels[PADDOCK_LABELS.poolId];
      return (
        owner !== undefined && ours.has(owner) && ours.get(owner) !== remote.id && remote.state !== 'removing'
      );
    });
    for (const stray of strays) {
      this.logger.warn(
        { clusterId: cluster.id, rancherPoolId: stray.id },
        'removing a duplicate node pool left by a timed-out create',
      );
      await driver.deleteNodePool(stray.id);
    }
    // rke2: a machine config whose create timed out can land after the cluster was made from the
    // retry's copy; no pool uses it, so it goes too.
    const preparations = await driver.removeStrayNodePoolPreparations({
      clusterId: cluster.id,
      rancherId: cluster.rancherId,
    });
    if (preparations > 0)
      this.logger.warn(
        { clusterId: cluster.id, removed: preparations },
        'removed machine configs left by a timed-out create that no pool uses',
      );
    return strays.length > 0 ? poll(500) : DONE;
  }
}
