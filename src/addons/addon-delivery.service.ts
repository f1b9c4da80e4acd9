import { Injectable } from '@nestjs/common';
import { ProblemError } from '../common/problem';
import type { BackendDriver } from '../rancher-backends/backend-driver';
import { PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import type { AddonRecord } from './addon.types';
import { fleetNameOf, optInLabel } from './addon.types';
import { AddonsRepository } from './addons.repository';
import { ClusterAddonsRepository } from './cluster-addons.repository';
import type { BundleResource } from './chart-archive';
import { ChartIndex } from './chart-index';

/**
 * How one apply ended: written; refused because the backend's Fleet takes no addons; or the chart
 * could not be embedded (recorded on the delivery with the reason; the next sync tries again).
 */
export type DeliveryOutcome = { applied: true } | { applied: false; code: string; message: string };

/**
 * Makes one addon's Fleet object on one backend say what Postgres says, and records the
 * generation it now carries. Used by the status sync for every addon that is behind, and by an
 * opt-in's step for its cluster's backend, so the new target does not wait for the next cycle.
 * Idempotent: the driver looks before it writes and writes nothing when the object already agrees.
 */
@Injectable()
export class AddonDelivery {
  constructor(
    private readonly addons: AddonsRepository,
    private readonly clusterAddons: ClusterAddonsRepository,
    private readonly charts: ChartIndex,
  ) {}

  async apply(addon: AddonRecord, backendId: string, driver: BackendDriver): Promise<DeliveryOutcome> {
    const kind = await driver.fleet.deliveryKind();
    if (addon.deleting) {
      // Deleting the object is what uninstalls the addon from every cluster of the backend.
      if (kind) await driver.fleet.remove(kind, fleetNameOf(addon.name));
      await this.addons.deleteDelivery(addon.id, backendId);
      await this.addons.deleteIfDelivered(addon.id);
      return { applied: true };
    }
    await this.addons.ensureDeliveries(backendId);
    if (!kind) {
      const message = "the backend's Fleet serves neither HelmOps nor Bundles";
      await this.addons.recordDeliveryProblem(addon.id, backendId, 'unsupported', message);
      return { applied: false, code: 'ADDONS_UNSUPPORTED_ON_BACKEND', message };
    }
    // A Fleet without HelmOps cannot download a chart: the Bundle carries it (rancher-212.md §4.b).
    let resources: BundleResource[] | undefined;
    if (kind === 'bundle') {
      try {
        resources = await this.charts.bundleResources(addon.chart);
      } catch (error) {
        if (!(error instanceof ProblemError)) throw error;
        await this.addons.recordDeliveryProblem(addon.id, backendId, 'error', error.detail);
        return { applied: false, code: error.code, message: error.detail };
      }
    }
    const targets = await this.clusterAddons.valuesTargets(addon.id, backendId);
    await driver.fleet.apply(kind, {
      name: fleetNameOf(addon.name),
      addon: addon.name,
      chart: addon.chart,
      resources,
      namespace: addon.namespace,
      releaseName: addon.name,
      values: addon.values,
      selector: addon.required
        ? { [PADDOCK_LABELS.managed]: 'true' }
        : { [optInLabel(addon.name)]: addon.id },
      clusterTargets: targets.map((t) => ({
        name: `cluster-${t.clusterId}`,
        fleetClusterName: driver.fleetClusterName(t.rancherId),
        values: t.values,
      })),
      maxUnavailable: /^\d+$/.test(addon.maxUnavailable)
        ? Number(addon.maxUnavailable)
        : addon.maxUnavailable,
      paused: addon.paused,
    });
    await this.addons.recordApplied(addon.id, backendId, kind, addon.generation);
    return { applied: true };
  }
}
