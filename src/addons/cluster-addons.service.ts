import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import type { ClusterRecord } from '../clusters/cluster.types';
import { OperationDto } from '../clusters/operation.dto';
import { conflict, notFound } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { isBackendError } from '../rancher-backends/backend.errors';
import type { ClusterAddonListDto } from './addon.dto';
import type { AddonRecord } from './addon.types';
import { AddonsRepository } from './addons.repository';
import { ClusterAddonsRepository } from './cluster-addons.repository';

/**
 * A cluster's addons: what it has as last synced, and its owner's opt-in to an optional addon
 * (an operation: label the cluster, write the backend's Fleet object, wait for the install).
 */
@Injectable()
export class ClusterAddonsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly reads: ClusterReads,
    private readonly recorder: OperationRecorder,
    private readonly addons: AddonsRepository,
    private readonly clusterAddons: ClusterAddonsRepository,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  async list(projectName: string, clusterName: string): Promise<ClusterAddonListDto> {
    const project = await this.lookup.requireProject(projectName);
    const cluster = await this.lookup.requireCluster(project, clusterName);
    const rows = await this.clusterAddons.ofCluster(cluster.id);
    return {
      items: rows.map((r) => ({
        addon: r.addonName,
        required: r.required,
        version: r.version,
        state: r.state,
        message: r.message,
        values: r.values,
        updatedAt: r.updatedAt.toISOString(),
      })),
    };
  }

  /** 202 with the operation that succeeds once the addon is installed on the cluster. */
  async install(
    projectName: string,
    clusterName: string,
    addonName: string,
    values: Record<string, unknown> | null,
  ): Promise<OperationDto> {
    return this.record(projectName, clusterName, addonName, 'install-addon', async (cluster, addon) => {
      if (await this.clusterAddons.optIn(cluster.id, addon.id, values))
        await this.addons.bumpGeneration(addon.id);
    });
  }

  /** 202 with the operation that succeeds once the addon is gone from the cluster. */
  async uninstall(projectName: string, clusterName: string, addonName: string): Promise<OperationDto> {
    return this.record(projectName, clusterName, addonName, 'uninstall-addon', async (cluster, addon) => {
      const had = await this.clusterAddons.optOut(cluster.id, addon.id);
      if (had === undefined) throw notFound('addon on this cluster', addonName);
      // Its values target goes from the Fleet object with the next generation.
      if (had !== null) await this.addons.bumpGeneration(addon.id);
    });
  }

  private async record(
    projectName: string,
    clusterName: string,
    addonName: string,
    type: 'install-addon' | 'uninstall-addon',
    change: (cluster: ClusterRecord, addon: AddonRecord) => Promise<void>,
  ): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    // Asked before the transaction opens: it may need the backend, and no row waits on it.
    if (type === 'install-addon')
      await this.requireDelivery(await this.lookup.requireLiveCluster(project, clusterName));
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const addon = await this.addons.findByName(addonName);
      if (!addon || addon.deleting) throw notFound('addon', addonName);
      if (addon.required)
        throw conflict('ADDON_REQUIRED', `addon '${addonName}' is required: every cluster has it`, {
          addon: addonName,
        });
      if (!cluster.rancherId || cluster.state === 'provisioning')
        throw conflict('CLUSTER_NOT_READY', `cluster '${clusterName}' is still being created`, {
          clusterId: cluster.id,
        });
      await change(cluster, addon);
      // A second operation while one runs is refused (409) by the operations' unique index,
      // and the opt-in change rolls back with it.
      await this.recorder.recordInTransaction({
        id: operationId,
        type,
        projectId: project.id,
        clusterId: cluster.id,
        nodePoolId: null,
        pools: [],
        params: { addonId: addon.id, addonName: addon.name },
      });
    });
    return this.reads.operation(operationId);
  }

  /**
   * 409 where the backend's Fleet cannot take addons. Known from the last sync; asked of the
   * backend (once per driver) when no sync has found out yet. An unanswered question is left to
   * the operation, which fails with the same code if the answer is no.
   */
  private async requireDelivery(cluster: ClusterRecord): Promise<void> {
    let state = await this.addons.backendDeliveryState(cluster.backendId);
    if (state === null) {
      const backend = await this.backends.findById(cluster.backendId);
      try {
        if (backend && (await this.drivers.forBackend(backend).fleet.deliveryKind()) === null)
          state = 'unsupported';
      } catch (error) {
        if (!isBackendError(error)) throw error;
      }
    }
    if (state === 'unsupported')
      throw conflict(
        'ADDONS_UNSUPPORTED_ON_BACKEND',
        `the cluster's backend has no Fleet that can deliver addons (neither HelmOps nor Bundles)`,
        { clusterId: cluster.id },
      );
  }
}
