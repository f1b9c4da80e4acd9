import { Injectable } from '@nestjs/common';
import type { BackendDriver } from '../rancher-backends/backend-driver';
import { PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import type { AddonRecord } from './addon.types';
import { fleetNameOf, optInLabel } from './addon.types';
import { AddonsRepository } from './addons.repository';

/**
 * Makes one addon's Fleet object on one backend say what Postgres says, and records the
 * generation it now carries. Used by the status sync for every addon that is behind, and by an
 * opt-in's step for its cluster's backend, so the new target does not wait for the next cycle.
 * Idempotent: the driver looks before it writes and writes nothing when the object already agrees.
 */
@Injectable()
export class AddonDelivery {
  constructor(private readonly addons: AddonsRepository) {}

  /** False when the backend's Fleet cannot take addons (recorded on the delivery). */
  async apply(addon: AddonRecord, backendId: string, driver: BackendDriver): Promise<boolean> {
    const kind = await driver.addonDeliveryKind();
    if (addon.deleting) {
      // Deleting the object is what uninstalls the addon from every cluster of the backend.
      if (kind) await driver.removeAddon(kind, fleetNameOf(addon.name));
      await this.addons.deleteDelivery(addon.id, backendId);
      await this.addons.deleteIfDelivered(addon.id);
      return true;
    }
    await this.addons.ensureDeliveries(backendId);
    if (!kind) {
      await this.addons.recordDeliveryProblem(
        addon.id,
        backendId,
        'unsupported',
        "the backend's Fleet serves neither HelmOps nor Bundles",
      );
      return false;
    }
    const targets = await this.addons.valuesTargets(addon.id, backendId);
    await driver.applyAddon(kind, {
      name: fleetNameOf(addon.name),
      addon: addon.name,
      chart: addon.chart,
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
    return true;
  }
}
