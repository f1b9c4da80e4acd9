import { HttpStatus, Injectable } from '@nestjs/common';
import { conflict, notFound, ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import type {
  AddonDto,
  AddonListDto,
  AddonRolloutStatusDto,
  CreateAddonDto,
  UpdateAddonDto,
} from './addon.dto';
import type { AddonRecord, NewAddon } from './addon.types';
import { AddonsRepository } from './addons.repository';
import { ClusterAddonsRepository } from './cluster-addons.repository';
import { ChartIndex } from './chart-index';

/** How many failed clusters a rollout names (the counts cover all of them). */
const MAX_FAILED_NAMED = 100;
const DEFAULT_MAX_UNAVAILABLE = '25%';

export const toAddonDto = (a: AddonRecord): AddonDto => ({
  name: a.name,
  chart: a.chart,
  namespace: a.namespace,
  values: a.values,
  required: a.required,
  rollout: { maxUnavailable: a.maxUnavailable, maxFailures: a.maxFailures },
  state: a.deleting ? 'deleting' : 'active',
  createdAt: a.createdAt.toISOString(),
  updatedAt: a.updatedAt.toISOString(),
});

/**
 * The addon catalog and its rollouts. A change is written to Postgres only (with a new
 * generation); each backend's status sync then writes the addon's one Fleet object there, so a
 * change costs one update per backend whatever the number of clusters, and nothing is lost to a
 * crash or a lost queue between the answer and the backend.
 */
@Injectable()
export class AddonsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly addons: AddonsRepository,
    private readonly clusterAddons: ClusterAddonsRepository,
    private readonly charts: ChartIndex,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  /**
   * 422 when the repository does not list the chart version, its archive cannot be had or does
   * not match the index's digest, or it is too large to embed in a Bundle while a backend takes
   * addons as Bundles; 409 when the name is taken.
   */
  async create(body: CreateAddonDto): Promise<AddonDto> {
    if (await this.addons.findByName(body.name))
      throw conflict('ADDON_EXISTS', `an addon named '${body.name}' exists`);
    await this.charts.requireVersion(body.chart, await this.anyBundleBackend());
    const created = await this.addons.insert({
      name: body.name,
      chart: { repo: body.chart.repo, name: body.chart.name, version: body.chart.version },
      namespace: body.namespace,
      values: body.values ?? {},
      required: body.required ?? false,
      maxUnavailable: body.rollout?.maxUnavailable ?? DEFAULT_MAX_UNAVAILABLE,
      maxFailures: body.rollout?.maxFailures ?? 0,
    });
    if (!created) throw conflict('ADDON_EXISTS', `an addon named '${body.name}' exists`);
    return toAddonDto(created);
  }

  async list(): Promise<AddonListDto> {
    return { items: (await this.addons.list()).map(toAddonDto) };
  }

  async get(name: string): Promise<AddonDto> {
    return toAddonDto(await this.require(name));
  }

  /** A new chart version or values starts a rollout (and supersedes a paused one). */
  async update(name: string, body: UpdateAddonDto): Promise<AddonDto> {
    const current = await this.requireActive(name);
    const next: NewAddon = {
      name: current.name,
      chart: body.chart
        ? { repo: body.chart.repo, name: body.chart.name, version: body.chart.version }
        : current.chart,
      namespace: body.namespace ?? current.namespace,
      values: body.values ?? current.values,
      required: body.required ?? current.required,
      maxUnavailable: body.rollout?.maxUnavailable ?? current.maxUnavailable,
      maxFailures: body.rollout?.maxFailures ?? current.maxFailures,
    };
    if (body.chart) await this.charts.requireVersion(next.chart, await this.anyBundleBackend());
    const updated = await this.addons.update(current.id, next);
    if (!updated) throw notFound('addon', name);
    return toAddonDto(updated);
  }

  /**
   * Whether some backend takes addons as Bundles that embed the chart (its Fleet has no HelmOps):
   * asked of each backend's driver, once per driver. A backend that does not answer now is left
   * to its delivery, which fails with the same words if the chart is too large.
   */
  private async anyBundleBackend(): Promise<boolean> {
    for (const backend of await this.backends.listAll()) {
      try {
        if ((await this.drivers.forBackend(backend).fleet.deliveryKind()) === 'bundle') return true;
      } catch (error) {
        if (!isBackendError(error)) throw error;
      }
    }
    return false;
  }

  /**
   * Removes the addon from every cluster: its Fleet object goes from each backend (Fleet then
   * uninstalls the release everywhere), and the addon with it once every backend is done.
   */
  async remove(name: string): Promise<AddonDto> {
    const addon = await this.require(name);
    if (!addon.deleting) await this.addons.markDeleting(addon.id);
    return toAddonDto((await this.addons.findById(addon.id)) ?? { ...addon, deleting: true });
  }

  async rollout(name: string): Promise<AddonRolloutStatusDto> {
    const addon = await this.require(name);
    const deliveries = await this.addons.deliveriesOf(addon.id);
    const counts = new Map(
      (await this.clusterAddons.rolloutCounts(addon.id, addon.chart.version)).map((c) => [c.backendId, c]),
    );
    const perBackend = deliveries.map((d) => {
      const c = counts.get(d.backendId) ?? { total: 0, ready: 0, failed: 0 };
      return {
        backend: d.backendName,
        delivery: d.kind,
        state: d.state,
        message: d.message,
        total: c.total,
        ready: c.ready,
        failed: c.failed,
        pending: c.total - c.ready - c.failed,
      };
    });
    const sum = (key: 'total' | 'ready' | 'failed') => [...counts.values()].reduce((n, c) => n + c[key], 0);
    const total = sum('total');
    const ready = sum('ready');
    const failed = sum('failed');
    // Every backend must carry the generation: a backend whose sync has not yet given the addon a
    // delivery row carries nothing, and an empty list of deliveries is not a finished rollout.
    const byBackend = new Map(deliveries.map((d) => [d.backendId, d]));
    const carried = (await this.backends.listAll()).every((b) => {
      const d = byBackend.get(b.id);
      return (
        d !== undefined &&
        (d.state === 'unsupported' || (d.state === 'applied' && d.appliedGeneration >= addon.generation))
      );
    });
    // Every cluster at the version and none failed is a finished rollout even when a pause was
    // set: a pause only holds back clusters that have not moved yet, and none is left.
    const completed = carried && ready === total && failed === 0;
    return {
      version: addon.chart.version,
      state: completed ? 'completed' : addon.paused ? 'paused' : 'running',
      total,
      ready,
      failed,
      pending: total - ready - failed,
      failedClusters: await this.clusterAddons.failedClusters(addon.id, MAX_FAILED_NAMED),
      perBackend,
    };
  }

  /** Continues a paused rollout; it is not paused again for failures until the addon changes. */
  async resume(name: string): Promise<AddonRolloutStatusDto> {
    const addon = await this.requireActive(name);
    if (!addon.paused)
      throw conflict('ROLLOUT_NOT_PAUSED', `the rollout of '${name}' is not paused`, { addon: name });
    await this.uow.run(() => this.addons.resume(addon.id));
    return this.rollout(name);
  }

  private async require(name: string): Promise<AddonRecord> {
    const addon = await this.addons.findByName(name);
    if (!addon) throw notFound('addon', name);
    return addon;
  }

  private async requireActive(name: string): Promise<AddonRecord> {
    const addon = await this.require(name);
    if (addon.deleting)
      throw new ProblemError(HttpStatus.CONFLICT, 'ADDON_DELETING', `addon '${name}' is being deleted`);
    return addon;
  }
}
