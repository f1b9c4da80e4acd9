import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { BackupScheduleDto } from '../backups/backup.dto';
import { backupScheduleChange, requireCreatedCluster } from '../backups/backup-schedule';
import { BackupsRepository } from '../backups/backups.repository';
import { badRequest, conflict } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { QuotaService } from '../quota/quota.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { PlacementService } from '../rancher-backends/placement.service';
import { ClusterDto, NodePoolSpecDto, UpdateClusterDto } from './cluster.dto';
import { ClusterDeletion } from './cluster-deletion.service';
import { checkExpiry } from './cluster-lifetime';
import { sortedRoles, type ClusterRecord } from './cluster.types';
import { checkPools } from './cluster-requests';
import { ClusterLookup } from './cluster-lookup.service';
import { ClusterReads } from './cluster-reads.service';
import { ClusterUpgrades } from './cluster-upgrades.service';
import { ClustersRepository } from './clusters.repository';
import { OperationDto } from './operation.dto';

/**
 * Changes to an existing cluster: delete it, set its expiry, upgrade it, add, scale or remove a pool. Each records its
 * operation in one transaction with the state change; growth reserves quota and backend
 * capacity as the transaction's last statements, quota before backend (the order every
 * transaction takes those rows in).
 */
@Injectable()
export class ClusterChanges {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly reads: ClusterReads,
    private readonly clusters: ClustersRepository,
    private readonly recorder: OperationRecorder,
    private readonly placement: PlacementService,
    private readonly backends: BackendsRepository,
    private readonly quota: QuotaService,
    private readonly deletion: ClusterDeletion,
    private readonly upgrades: ClusterUpgrades,
    private readonly backupSettings: BackupsRepository,
  ) {}

  async deleteCluster(projectName: string, clusterName: string): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      await this.deletion.recordInTransaction(cluster, operationId);
    });
    return this.reads.operation(operationId);
  }

  /**
   * Sets or clears the cluster's expiry (within the project's maximum lifetime; no operation)
   * and/or starts its upgrade (see ClusterUpgrades). Both fields in one request are one change,
   * in one transaction: a refused upgrade leaves the expiry as it was. The answer is the upgrade's
   * operation when one was recorded, the cluster otherwise.
   */
  async updateCluster(
    projectName: string,
    clusterName: string,
    body: UpdateClusterDto,
  ): Promise<{ operation: OperationDto } | { cluster: ClusterDto }> {
    if (body.expiresAt === undefined && body.kubernetesVersion === undefined && body.backup === undefined) {
      throw badRequest('invalid request: nothing to change', [
        { field: 'expiresAt', message: 'give expiresAt, kubernetesVersion or backup' },
      ]);
    }
    if (body.backup !== undefined && body.kubernetesVersion !== undefined) {
      throw badRequest('invalid request: backup and kubernetesVersion are two operations', [
        { field: 'backup', message: 'change backup and kubernetesVersion in separate requests' },
      ]);
    }
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    const upgraded = await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const recorded =
        (body.kubernetesVersion !== undefined &&
          (await this.upgrades.recordInTransaction(cluster, body.kubernetesVersion, operationId))) ||
        (body.backup !== undefined && (await this.recordBackupSchedule(cluster, body.backup, operationId)));
      if (body.expiresAt !== undefined) {
        const expiresAt = body.expiresAt === null ? null : new Date(body.expiresAt);
        checkExpiry(
          expiresAt,
          cluster.createdAt,
          await this.quota.maxClusterLifetimeOf(project.id),
          new Date(),
        );
        await this.clusters.setExpiry(cluster.id, expiresAt);
      }
      return recorded;
    });
    return upgraded
      ? { operation: await this.reads.operation(operationId) }
      : { cluster: await this.reads.get(projectName, clusterName) };
  }

  private async recordBackupSchedule(
    cluster: ClusterRecord,
    schedule: BackupScheduleDto,
    operationId: string,
  ): Promise<true> {
    requireCreatedCluster(cluster);
    await this.recorder.recordInTransaction({
      id: operationId,
      type: 'update-backup-schedule',
      projectId: cluster.projectId,
      clusterId: cluster.id,
      nodePoolId: null,
      pools: [],
      params: await backupScheduleChange(this.backupSettings, cluster, schedule),
    });
    return true;
  }

  async addNodePool(projectName: string, clusterName: string, body: NodePoolSpecDto): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const nodeTemplateId = await this.placement.nodeTemplateFor(cluster.backendId, body.flavor);
      if (!nodeTemplateId) {
        throw badRequest('invalid request: flavor', [
          { field: 'flavor', message: `flavor '${body.flavor}' is not offered by this cluster's backend` },
        ]);
      }
      const pool = {
        id: randomUUID(),
        clusterId: cluster.id,
        name: body.name,
        roles: sortedRoles(body.roles),
        flavor: body.flavor,
        nodeTemplateId,
        quantity: body.quantity,
        autoReplaceSeconds: body.autoReplace?.unhealthyAfterSeconds ?? null,
      };
      if (!(await this.clusters.insertPools([pool]))) {
        throw conflict(
          'NODE_POOL_EXISTS',
          `cluster '${clusterName}' already has a pool named '${body.name}'`,
        );
      }
      await this.recorder.recordInTransaction({
        id: operationId,
        type: 'add-node-pool',
        projectId: project.id,
        clusterId: cluster.id,
        nodePoolId: pool.id,
        pools: [pool],
      });
      await this.clusters.setState(cluster.id, 'updating');
      await this.quota.reserve(project.id, { clusters: 0, nodes: body.quantity });
      await this.reserveNodes(cluster, body.quantity);
    });
    return this.reads.operation(operationId);
  }

  /**
   * One PATCH of a pool, one operation: a new quantity is a `scale-node-pool` (which also writes an
   * auto-replace setting sent with it); an auto-replace setting alone (null: off) is a
   * `set-auto-replace`, one write to the backend and no quota.
   */
  async changeNodePool(
    projectName: string,
    clusterName: string,
    poolName: string,
    change: { quantity?: number; autoReplaceSeconds?: number | null },
  ): Promise<OperationDto> {
    const { quantity, autoReplaceSeconds } = change;
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const pool = await this.lookup.requirePool(cluster, poolName);
      const operation = { id: operationId, projectId: project.id, clusterId: cluster.id };
      if (quantity === undefined) {
        await this.recorder.recordInTransaction({
          ...operation,
          type: 'set-auto-replace',
          nodePoolId: pool.id,
          pools: [pool],
          params: { autoReplaceSeconds: autoReplaceSeconds ?? null },
        });
        return;
      }
      await this.recorder.recordInTransaction({
        ...operation,
        type: 'scale-node-pool',
        nodePoolId: pool.id,
        pools: [pool],
        params: { quantity, previousQuantity: pool.quantity, autoReplaceSeconds },
      });
      await this.clusters.setPoolState(pool.id, 'scaling', quantity);
      await this.clusters.setState(cluster.id, 'updating');
      // Growth is counted against the quota and the backend now; a shrink frees both once it is done.
      if (quantity > pool.quantity) {
        await this.quota.reserve(project.id, { clusters: 0, nodes: quantity - pool.quantity });
        await this.reserveNodes(cluster, quantity - pool.quantity);
      }
    });
    return this.reads.operation(operationId);
  }

  async deleteNodePool(projectName: string, clusterName: string, poolName: string): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const pool = await this.lookup.requirePool(cluster, poolName);
      const remaining = (await this.clusters.poolsOf([cluster.id])).filter((p) => p.id !== pool.id);
      if (checkPools(remaining).length > 0) {
        throw conflict(
          'CLUSTER_WOULD_LOSE_ROLE',
          `removing pool '${poolName}' would leave the cluster without a required role`,
        );
      }
      await this.recorder.recordInTransaction({
        id: operationId,
        type: 'delete-node-pool',
        projectId: project.id,
        clusterId: cluster.id,
        nodePoolId: pool.id,
        pools: [pool],
      });
      await this.clusters.setPoolState(pool.id, 'deleting');
      await this.clusters.setState(cluster.id, 'updating');
    });
    return this.reads.operation(operationId);
  }

  /** Counts `nodes` more against the cluster's backend, in the caller's transaction, or answers 409. */
  private async reserveNodes(cluster: ClusterRecord, nodes: number): Promise<void> {
    if (!(await this.backends.reserve(cluster.backendId, 0, nodes))) {
      throw conflict(
        'BACKEND_CAPACITY_EXCEEDED',
        `the cluster's backend has no room for ${nodes} more node(s)`,
      );
    }
  }
}
