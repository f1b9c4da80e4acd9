import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Principal } from '../common/auth.guard';
import { BackupStorage } from '../backups/backup-storage.service';
import { KINDS_WITH_BACKUPS } from '../backups/backup.types';
import { BackupsRepository } from '../backups/backups.repository';
import { EnsureBucketStep } from '../backups/steps/ensure-bucket.step';
import { badRequest, conflict, ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { Project } from '../projects/projects.repository';
import { QuotaService } from '../quota/quota.service';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { backendVersionOf, plainVersions } from '../rancher-backends/kubernetes-versions';
import { noBackendAvailable, PlacementService } from '../rancher-backends/placement.service';
import { ClusterPlanDto, CreateClusterDto } from './cluster.dto';
import { RecordedCreate, toCreateAcceptedDto } from './cluster.mapper';
import { sortedRoles } from './cluster.types';
import { ClusterLookup } from './cluster-lookup.service';
import { hostnamePrefixFor, rancherNameFor } from './cluster-names';
import { checkLabels, checkPools } from './cluster-requests';
import { checkExpiry, expiryOfCreate } from './cluster-lifetime';
import { ClustersRepository } from './clusters.repository';
import { ClusterAcceptedDto } from './operation.dto';

/**
 * Creating a cluster: validation, placement and the rows that record it (cluster, pools, the
 * operation that builds it, its outbox row, the quota and capacity it takes), in one
 * transaction; no Rancher call happens before the 202. `preview` is the same decision, rolled back.
 */
@Injectable()
export class ClusterCreation {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly clusters: ClustersRepository,
    private readonly recorder: OperationRecorder,
    private readonly placement: PlacementService,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly quota: QuotaService,
    private readonly backupStorage: BackupStorage,
    private readonly backups: BackupsRepository,
  ) {}

  async create(projectName: string, body: CreateClusterDto): Promise<ClusterAcceptedDto> {
    await this.validate(body);
    const project = await this.lookup.requireProject(projectName);
    const recorded = await this.placeAndRecord(project, body, (work) => this.uow.run(work));
    return toCreateAcceptedDto(recorded);
  }

  /**
   * The dry run of `create` (the public `clusters:plan`): the very same validation, quota
   * reservation and placement, in a transaction that is rolled back, plus the Rancher calls the
   * create would make. A refusal is the same answer the create would get (400, 409
   * QUOTA_EXCEEDED, 503 NO_BACKEND_AVAILABLE).
   */
  async preview(projectName: string, body: CreateClusterDto, principal: Principal): Promise<ClusterPlanDto> {
    await this.validate(body);
    const project = await this.lookup.requireProject(projectName);
    const recorded = await this.placeAndRecord(project, body, (work) => this.uow.dryRun(work));
    const backend = await this.backends.findById(recorded.cluster.backendId);
    if (!backend) throw new Error(`backend ${recorded.cluster.backendId} vanished during a preview`);
    const calls = this.drivers.forBackend(backend).planCreate(
      { name: recorded.cluster.rancherName, kubernetesVersion: body.kubernetesVersion, labels: {} },
      recorded.pools.map((pool) => ({
        clusterId: '{clusterId}',
        hostnamePrefix: hostnamePrefixFor(body.name, pool.name),
        quantity: pool.quantity,
        roles: {
          etcd: pool.roles.includes('etcd'),
          controlPlane: pool.roles.includes('controlplane'),
          worker: pool.roles.includes('worker'),
        },
        nodeTemplateId: pool.nodeTemplateId,
        labels: {},
      })),
    );
    return {
      project: project.name,
      name: body.name,
      // Backend names are the platform team's business; users see the region only.
      backend: principal.role === 'admin' ? backend.name : null,
      region: backend.region,
      clusters: 1,
      nodes: recorded.pools.reduce((sum, p) => sum + p.quantity, 0),
      steps: recorded.operation.steps.map((step) => step.label),
      // The calls name flavors by their Rancher node templates: the platform team's business too.
      rancherCalls: principal.role === 'admin' ? calls : [],
      // The S3 store is infrastructure as well; the bucket calls are planned only when the create
      // has its ensure-bucket step (backups on, and a backend kind whose backups Paddock drives).
      s3Calls:
        principal.role === 'admin' &&
        recorded.operation.steps.some((step) => step.label === EnsureBucketStep.key)
          ? this.backupStorage.planBucket()
          : [],
    };
  }

  /**
   * Checks that need the database: pool roles and names, labels, flavors on offer. Flavors of
   * every registered backend count, whatever its state: a flavor that only a draining or disabled
   * backend offers is a valid request that nothing can take now (503 from placement, with the
   * reasons), not an invalid one (400).
   */
  private async validate(body: CreateClusterDto): Promise<void> {
    const problems = [...checkPools(body.nodePools), ...checkLabels(body.labels)];
    const offered = await this.backends.offeredFlavors();
    body.nodePools.forEach((pool, i) => {
      if (!offered.has(pool.flavor)) {
        problems.push({
          field: `nodePools[${i}].flavor`,
          message: `flavor '${pool.flavor}' is not offered by any backend`,
        });
      }
    });
    const regionUnknown =
      body.region !== undefined && !(await this.backends.offeredRegions()).has(body.region);
    if (regionUnknown) {
      problems.push({ field: 'region', message: `region '${body.region}' is not offered by any backend` });
    }
    if (problems.length > 0 && !(regionUnknown && problems.length === 1))
      throw badRequest(`invalid request: ${problems.map((p) => p.field).join(', ')}`, problems);
    if (body.kubernetesVersion !== undefined) await this.checkVersionOffered(body.kubernetesVersion);
    if (regionUnknown) {
      // The request is well formed, but names a region Paddock does not have: a client mistake
      // (422), not a lack of capacity (503), and refused before any quota is taken.
      throw new ProblemError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'REGION_UNKNOWN',
        `region '${body.region}' is not offered by any backend`,
        {},
        problems,
      );
    }
  }

  /**
   * A version no registered backend offers is a 422 listing what they do offer (each backend's
   * driver spells versions its own way; users see the plain `v1.31.9`). A version only busy or
   * draining backends offer is placement's business (503), as for flavors.
   */
  private async checkVersionOffered(version: string): Promise<void> {
    const backends = await this.backends.listAll();
    if (backends.some((b) => backendVersionOf(b.kind, b.kubernetesVersions, version) !== null)) return;
    const available = plainVersions(backends.flatMap((b) => b.kubernetesVersions));
    throw new ProblemError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'VERSION_NOT_AVAILABLE',
      `Kubernetes ${version} is not offered by any backend; available: ${available.join(', ') || 'none listed'}`,
      { available },
      [{ field: 'kubernetesVersion', message: `not offered; available: ${available.join(', ')}` }],
    );
  }

  /**
   * Ranks the backends, then records the create in one transaction (`inTransaction` commits it,
   * or rolls it back for a preview): rows first, against the best-ranked backend, then the two
   * counters, quota before backend, as the last statements. Their rows are the ones every create
   * contends for, so they are locked only for the moment before commit. If the capacity claim
   * lands on another backend than the one ranked first (it filled up, or a simultaneous create
   * held it), the new rows are moved to the claimed backend before commit.
   */
  private async placeAndRecord(
    project: Project,
    body: CreateClusterDto,
    inTransaction: <T>(work: () => Promise<T>) => Promise<T>,
  ): Promise<RecordedCreate> {
    const nodes = body.nodePools.reduce((sum, p) => sum + p.quantity, 0);
    const now = new Date();
    const maxLifetime = await this.quota.maxClusterLifetimeOf(project.id);
    const expiresAt = expiryOfCreate(body, maxLifetime, now);
    checkExpiry(expiresAt, now, maxLifetime, now);
    const ranking = await this.placement.rank({
      region: body.region,
      flavors: [...new Set(body.nodePools.map((p) => p.flavor))],
      nodes,
      kubernetesVersion: body.kubernetesVersion,
    });
    const [first] = ranking.placements;
    if (!first) throw noBackendAvailable(ranking);
    if (body.backup && !KINDS_WITH_BACKUPS.has(first.kind)) {
      throw new ProblemError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'BACKUPS_NOT_AVAILABLE',
        `the cluster would be placed on an ${first.kind} backend, whose etcd backups Paddock does not drive; ` +
          'omit backup, or choose another region',
        { kind: first.kind },
        [{ field: 'backup', message: `not available on ${first.kind} backends` }],
      );
    }
    const clusterId = randomUUID();
    const cluster = {
      id: clusterId,
      projectId: project.id,
      backendId: first.backendId,
      name: body.name,
      rancherName: rancherNameFor(clusterId, body.name),
      // `v1.31` becomes the patch the chosen backend offers; the driver adds its own suffix.
      kubernetesVersion: first.kubernetesVersion ?? body.kubernetesVersion ?? null,
      region: body.region ?? null,
      labels: body.labels ?? {},
      expiresAt,
    };
    const pools = body.nodePools.map((p) => ({
      id: randomUUID(),
      clusterId,
      name: p.name,
      roles: sortedRoles(p.roles),
      flavor: p.flavor,
      nodeTemplateId: first.nodeTemplates[p.flavor],
      quantity: p.quantity,
      autoReplaceSeconds: p.autoReplace?.unhealthyAfterSeconds ?? null,
    }));
    return inTransaction(async () => {
      const createdAt = await this.clusters.insertCluster(cluster, pools);
      if (!createdAt)
        throw conflict(
          'CLUSTER_EXISTS',
          `project '${project.name}' already has a cluster named '${body.name}'`,
        );
      // Every cluster gets its own bucket and a schedule, when backups are on and its backend's
      // kind is one whose backups Paddock drives.
      const bucket = this.backupStorage.bucketFor(clusterId);
      const defaults = this.backupStorage.settings?.defaults;
      if (bucket && defaults && KINDS_WITH_BACKUPS.has(first.kind)) {
        const schedule = body.backup ?? defaults;
        await this.backups.insertSettings(clusterId, bucket, schedule.intervalHours, schedule.retention);
      }
      const operation = await this.recorder.recordInTransaction({
        id: randomUUID(),
        type: 'create-cluster',
        projectId: project.id,
        clusterId,
        nodePoolId: null,
        pools,
        backendKind: first.kind,
      });
      await this.quota.reserve(project.id, { clusters: 1, nodes });
      // Only backends of the first one's kind and version: the operation's steps and the cluster's
      // version were written for them.
      const claimed = await this.placement.claim(
        ranking.placements.filter(
          (p) => p.kind === first.kind && p.kubernetesVersion === first.kubernetesVersion,
        ),
        nodes,
      );
      if (!claimed) {
        for (const p of ranking.placements)
          ranking.reasons[p.backendName] = 'capacity taken by a concurrent create';
        throw noBackendAvailable(ranking);
      }
      if (claimed.backendId !== first.backendId) {
        await this.clusters.moveToBackend(clusterId, claimed.backendId, claimed.nodeTemplates);
        cluster.backendId = claimed.backendId;
        for (const pool of pools) pool.nodeTemplateId = claimed.nodeTemplates[pool.flavor];
      }
      return { projectName: project.name, cluster, pools, operation, createdAt };
    });
  }
}
