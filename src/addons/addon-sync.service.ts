import { Injectable, Logger } from '@nestjs/common';
import type {
  BackendDriver,
  RemoteAddonDeployment,
  RemoteAddonSummary,
} from '../rancher-backends/backend-driver';
import { isBackendError } from '../rancher-backends/backend.errors';
import type {
  AddonRecord,
  AddonState,
  ClusterAddonUpdate,
  DeliveryRecord,
  SyncedClusterAddon,
} from './addon.types';
import { fleetNameOf } from './addon.types';
import { AddonDelivery } from './addon-delivery.service';
import { AddonsRepository } from './addons.repository';
import { ClusterAddonsRepository } from './cluster-addons.repository';

/**
 * The addon part of a backend's status sync. Per cycle: one call for every addon's counts
 * (the Fleet objects' summaries); the paged bundle deployments of an addon only when its counts
 * say some cluster is not ready at its version; one write of the Fleet object for each addon
 * that changed since the backend last carried it. None of it grows with the number of clusters
 * but the drill-down pages (1,000 deployments a page).
 */
@Injectable()
export class AddonSync {
  private readonly logger = new Logger(AddonSync.name);
  /**
   * Per backend and addon, the generation at which the previous cycle already saw more than
   * `maxFailures` failed clusters. Right after a new version reaches the Fleet object, a bundle
   * deployment that failed before still reads ErrApplied (Fleet keeps the failed `Deployed`
   * condition until the agent applies the new deployment), now under the new version; pausing on
   * that would stop a fixed version. A real failure outlasts one cycle, so the pause waits for a
   * second cycle at the same generation. Held in memory: a worker that restarts (or another
   * worker taking the backend) only delays a pause by a cycle.
   */
  private readonly failingAt = new Map<string, number>();

  constructor(
    private readonly addons: AddonsRepository,
    private readonly clusterAddons: ClusterAddonsRepository,
    private readonly delivery: AddonDelivery,
  ) {}

  async syncBackend(backendId: string, driver: BackendDriver): Promise<void> {
    const catalog = await this.addons.list();
    if (catalog.length === 0) return;
    try {
      await this.addons.ensureDeliveries(backendId);
      const kind = await driver.fleet.deliveryKind();
      if (!kind) {
        for (const addon of catalog) await this.delivery.apply(addon, backendId, driver);
        return;
      }
      await this.clusterAddons.ensureClusterRows(backendId);
      const deliveries = new Map((await this.addons.deliveriesOn(backendId)).map((d) => [d.addonId, d]));
      const summaries = new Map((await driver.fleet.summaries(kind)).map((s) => [s.name, s]));
      for (const listed of catalog) {
        let addon = listed;
        const delivered = deliveries.get(addon.id);
        const summary = summaries.get(fleetNameOf(addon.name));
        if (!addon.deleting && summary && delivered && delivered.appliedGeneration > 0)
          await this.observe(addon, delivered, summary, backendId, driver);
        const failingKey = `${backendId}/${addon.id}`;
        const failing =
          !addon.deleting &&
          !addon.paused &&
          delivered !== undefined &&
          delivered.appliedGeneration >= addon.generation &&
          (await this.clusterAddons.failedCount(addon.id)) > addon.maxFailures;
        const failingBefore = this.failingAt.get(failingKey) === addon.generation;
        if (failing) this.failingAt.set(failingKey, addon.generation);
        else this.failingAt.delete(failingKey);
        if (failing && failingBefore && (await this.addons.pauseAutomatically(addon.id, addon.generation))) {
          this.logger.warn(
            { addon: addon.name },
            `rollout of ${addon.name} paused: more than ${addon.maxFailures} clusters failed`,
          );
          addon = (await this.addons.findById(addon.id)) ?? addon;
        }
        // Behind, or the object vanished behind Paddock's back: written again.
        if (addon.deleting || !delivered || delivered.appliedGeneration < addon.generation || !summary)
          await this.delivery.apply(addon, backendId, driver);
      }
    } catch (error) {
      // The clusters were mirrored already; an addon failure waits for the next cycle, it does
      // not make the backend look unreachable.
      if (!isBackendError(error)) throw error;
      this.logger.warn({ backendId, kind: error.kind }, `addon sync: ${error.message}`);
    }
  }

  private async observe(
    addon: AddonRecord,
    delivered: DeliveryRecord,
    summary: RemoteAddonSummary,
    backendId: string,
    driver: BackendDriver,
  ): Promise<void> {
    const failed = summary.errApplied + summary.modified;
    await this.addons.recordCounts(addon.id, backendId, {
      desiredReady: summary.desiredReady,
      ready: summary.ready,
      failed,
      waiting: summary.waiting,
    });
    const at = new Date();
    const desired = await this.clusterAddons.countDesired(addon.id, backendId);
    const settled =
      delivered.appliedGeneration >= addon.generation &&
      summary.version === addon.chart.version &&
      summary.desiredReady === desired &&
      summary.ready === desired &&
      failed === 0 &&
      summary.waiting === 0;
    if (settled && !(await this.clusterAddons.anyLeaving(addon.id, backendId))) {
      await this.clusterAddons.markAllInstalled(
        addon.id,
        backendId,
        addon.chart.version,
        at,
        delivered.appliedGeneration,
      );
      return;
    }
    for await (const page of driver.fleet.deploymentPages(fleetNameOf(addon.name))) {
      const rows = await this.clusterAddons.rowsFor(addon.id, backendId, [
        ...new Set(page.map((d) => d.clusterId)),
      ]);
      const byRancherId = new Map(rows.map((r) => [r.rancherId, r]));
      const updates = page.flatMap((deployment): ClusterAddonUpdate[] => {
        const row = byRancherId.get(deployment.clusterId);
        return row ? [{ clusterId: row.clusterId, ...stateOf(deployment, row) }] : [];
      });
      await this.clusterAddons.writeStates(addon.id, updates, at, delivered.appliedGeneration);
    }
    await this.clusterAddons.finishDrillDown(addon.id, backendId, at, delivered.appliedGeneration);
  }
}

/** A cluster's addon state from its bundle deployment (Fleet's per-deployment state). */
export function stateOf(
  deployment: RemoteAddonDeployment,
  row: Pick<SyncedClusterAddon, 'desired' | 'state' | 'version'>,
): { state: AddonState; version: string | null; message: string } {
  const version = deployment.version;
  if (!row.desired) return { state: 'uninstalling', version, message: '' };
  switch (deployment.state) {
    case 'Ready':
      return { state: 'installed', version, message: '' };
    case 'ErrApplied':
    case 'Modified':
      return { state: 'failed', version, message: deployment.message || `Fleet reports ${deployment.state}` };
    case 'NotReady':
    case 'WaitApplied':
    case 'Pending':
    case 'OutOfSync': {
      // NotReady is also what a release still coming up reads: failed only when a resource reports an error.
      if (deployment.error)
        return { state: 'failed', version, message: deployment.message || 'Fleet reports NotReady' };
      // Moving to a version other than the one it had: an upgrade (it stays one until it lands).
      const upgrading = row.state === 'upgrading' || (row.version !== null && row.version !== version);
      return { state: upgrading ? 'upgrading' : 'installing', version, message: deployment.message };
    }
  }
}
