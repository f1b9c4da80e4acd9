import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { badRequest, conflict, FieldProblem, notFound, ProblemError } from '../common/problem';
import type { Principal } from '../common/auth.guard';
import { UnitOfWork } from '../database/unit-of-work';
import { Project } from '../projects/projects.repository';
import { ProjectsService } from '../projects/projects.service';
import { QuotaService } from '../quota/quota.service';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { noBackendAvailable, PlacementService } from '../rancher-backends/placement.service';
import {
  ClusterDto,
  ClusterPlanDto,
  ClusterListDto,
  CreateClusterDto,
  ListClustersQuery,
  NODE_ROLES,
  NodeListDto,
  NodePoolSpecDto,
  NodeRole,
} from './cluster.dto';
import { toClusterDto, toNodeDto, toOperationDto } from './cluster.mapper';
import { hostnamePrefixFor, rancherNameFor } from './cluster-names';
import { ClusterRecord, ClustersRepository, NewNodePool, NodePoolRecord } from './clusters.repository';
import { ClusterAcceptedDto, OperationDto, OperationType } from './operation.dto';
import {
  PlannedStep,
  planAddNodePool,
  planCreateCluster,
  planDeleteCluster,
  planDeleteNodePool,
  planScaleNodePool,
} from './operation-plans';
import { NewOperation, OperationRecord, OperationsRepository } from './operations.repository';
import { OutboxRelay } from './outbox-relay.service';

interface RecordedCreate {
  backendId: string;
  pools: NewNodePool[];
  operation: NewOperation;
  createdAt: Date;
}

function checkPools(pools: NodePoolSpecDto[], field = 'nodePools', requireAllRoles = true): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  pools.forEach((pool, i) => {
    if (seen.has(pool.name))
      problems.push({ field: `${field}[${i}].name`, message: `pool name '${pool.name}' is used twice` });
    seen.add(pool.name);
  });
  if (requireAllRoles) {
    const covered = new Set<NodeRole>(pools.flatMap((p) => p.roles));
    const missing = NODE_ROLES.filter((r) => !covered.has(r));
    if (missing.length > 0) {
      problems.push({
        field,
        message: `a cluster needs at least one etcd, one controlplane and one worker node; no pool has ${missing.join(', ')}`,
      });
    }
  }
  return problems;
}

function checkLabels(labels: Record<string, unknown> | undefined): FieldProblem[] {
  return Object.entries(labels ?? {})
    .filter(
      ([key, value]) =>
        typeof value !== 'string' || value.length > 63 || !/^[A-Za-z0-9._/-]{1,253}$/.test(key),
    )
    .map(([key]) => ({
      field: `labels.${key}`,
      message: 'labels map keys (letters, digits, ._/-) to strings of at most 63 characters',
    }));
}

const toRoles = (roles: NodeRole[]) =>
  [...roles].sort((a, b) => NODE_ROLES.indexOf(a) - NODE_ROLES.indexOf(b));

@Injectable()
export class ClustersService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly projects: ProjectsService,
    private readonly clusters: ClustersRepository,
    private readonly operations: OperationsRepository,
    private readonly placement: PlacementService,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly relay: OutboxRelay,
    private readonly quota: QuotaService,
  ) {}

  /**
   * Validates, places and records a new cluster with its pools and a pending operation, all in
   * one transaction; no Rancher call happens before the 202.
   */
  async create(projectName: string, body: CreateClusterDto): Promise<ClusterAcceptedDto> {
    await this.validateCreate(body);
    const project = await this.projects.require(projectName);
    const clusterId = randomUUID();
    const operationId = randomUUID();
    const recorded = await this.placeAndRecord(project, body, clusterId, operationId, (work) =>
      this.uow.run(work),
    );
    return this.accepted(project, body, clusterId, recorded);
  }

  /**
   * The 202 answer, built from what the transaction wrote rather than read back: the create's
   * contended rows are already released, and four queries fewer per create is measurable.
   */
  private accepted(
    project: Project,
    body: CreateClusterDto,
    clusterId: string,
    recorded: RecordedCreate,
  ): ClusterAcceptedDto {
    const at = recorded.createdAt;
    const cluster: ClusterRecord = {
      id: clusterId,
      projectId: project.id,
      projectName: project.name,
      backendId: recorded.backendId,
      name: body.name,
      rancherName: rancherNameFor(clusterId, body.name),
      rancherId: null,
      kubernetesVersion: body.kubernetesVersion ?? null,
      region: body.region ?? null,
      labels: body.labels ?? {},
      state: 'provisioning',
      remoteState: null,
      remoteTransitioning: null,
      remoteMessage: null,
      conditions: [],
      nodeCount: 0,
      statusUpdatedAt: null,
      activeOperationId: recorded.operation.id,
      createdAt: at,
      updatedAt: at,
    };
    const pools: NodePoolRecord[] = recorded.pools.map((p) => ({
      ...p,
      remoteQuantity: null,
      readyNodes: 0,
      rancherId: null,
      state: 'provisioning',
      createdAt: at,
    }));
    const operation: OperationRecord = {
      ...recorded.operation,
      projectName: project.name,
      clusterName: body.name,
      nodePoolName: null,
      state: 'pending',
      phase: 'forward',
      errorCode: null,
      errorMessage: null,
      createdAt: at,
      updatedAt: at,
      startedAt: null,
      finishedAt: null,
      steps: recorded.operation.steps.map((step, position) => ({
        position,
        name: step.name,
        nodePoolId: step.nodePoolId ?? null,
        state: 'pending',
        attempts: 0,
        startedAt: null,
        finishedAt: null,
        lastError: null,
        lastErrorCode: null,
      })),
    };
    return { cluster: toClusterDto(cluster, pools), operation: toOperationDto(operation) };
  }

  /**
   * The dry run of `create`: the very same validation, quota reservation and placement, in a
   * transaction that is rolled back, plus the Rancher calls the create would make. A refusal is
   * the same answer the create would get (400, 409 QUOTA_EXCEEDED, 503 NO_BACKEND_AVAILABLE).
   */
  async plan(projectName: string, body: CreateClusterDto, principal: Principal): Promise<ClusterPlanDto> {
    await this.validateCreate(body);
    const project = await this.projects.require(projectName);
    const clusterId = randomUUID();
    const recorded = await this.placeAndRecord(project, body, clusterId, randomUUID(), (work) =>
      this.uow.dryRun(work),
    );
    const backend = await this.backends.findById(recorded.backendId);
    if (!backend) throw new Error(`backend ${recorded.backendId} vanished during a plan`);
    const rancherName = rancherNameFor(clusterId, body.name);
    const calls = this.drivers.forBackend(backend).planCreate(
      { name: rancherName, kubernetesVersion: body.kubernetesVersion, labels: {} },
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
      steps: planCreateCluster(recorded.pools).map((step) => step.name),
      rancherCalls: calls,
    };
  }

  /** Checks that need the database: pool roles and names, labels, flavors on offer. */
  private async validateCreate(body: CreateClusterDto): Promise<void> {
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
   * Ranks the backends, then records the create in one transaction (`run` commits it, or rolls
   * it back for a plan): rows first, against the best-ranked backend, then the two counters,
   * quota before backend, as the last statements. Their rows are the ones every create contends
   * for, so they are locked only for the moment before commit. If the claim lands on another
   * backend than the one ranked first (it filled up, or a simultaneous create held it), the new
   * rows are moved to the claimed backend before commit.
   */
  private async placeAndRecord(
    project: Project,
    body: CreateClusterDto,
    clusterId: string,
    operationId: string,
    run: <T>(work: () => Promise<T>) => Promise<T>,
  ): Promise<RecordedCreate> {
    const nodes = body.nodePools.reduce((sum, p) => sum + p.quantity, 0);
    const ranking = await this.placement.rank({
      region: body.region,
      flavors: [...new Set(body.nodePools.map((p) => p.flavor))],
      nodes,
    });
    const [first] = ranking.placements;
    if (!first) throw noBackendAvailable(ranking);
    return run(async () => {
      const createdAt = await this.clusters.insertCluster({
        id: clusterId,
        projectId: project.id,
        backendId: first.backendId,
        name: body.name,
        rancherName: rancherNameFor(clusterId, body.name),
        kubernetesVersion: body.kubernetesVersion ?? null,
        region: body.region ?? null,
        labels: body.labels ?? {},
      });
      if (!createdAt)
        throw conflict(
          'CLUSTER_EXISTS',
          `project '${project.name}' already has a cluster named '${body.name}'`,
        );
      const pools = body.nodePools.map((p) => ({
        id: randomUUID(),
        clusterId,
        name: p.name,
        roles: toRoles(p.roles),
        flavor: p.flavor,
        nodeTemplateId: first.nodeTemplates[p.flavor],
        quantity: p.quantity,
      }));
      await this.clusters.insertPools(pools);
      const operation = await this.enqueue(
        operationId,
        'create-cluster',
        project,
        clusterId,
        null,
        planCreateCluster(pools),
      );
      await this.quota.reserve(project.id, { clusters: 1, nodes });
      const claimed = await this.placement.claim(ranking.placements, nodes);
      if (!claimed) {
        for (const p of ranking.placements)
          ranking.reasons[p.backendName] = 'capacity taken by a concurrent create';
        throw noBackendAvailable(ranking);
      }
      if (claimed.backendId !== first.backendId) {
        await this.clusters.moveToBackend(clusterId, claimed.backendId, claimed.nodeTemplates);
        for (const pool of pools) pool.nodeTemplateId = claimed.nodeTemplates[pool.flavor];
      }
      return { backendId: claimed.backendId, pools, operation, createdAt };
    });
  }

  async get(projectName: string, clusterName: string): Promise<ClusterDto> {
    const cluster = await this.requireCluster(await this.projects.require(projectName), clusterName);
    return toClusterDto(cluster, await this.clusters.poolsOf([cluster.id]));
  }

  async list(projectName: string, query: ListClustersQuery): Promise<ClusterListDto> {
    const project = await this.projects.require(projectName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.clusters.list(
      project.id,
      query.state,
      limit,
      after ? { name: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (c) => ({ key: c.name, id: c.id }));
    const pools = await this.clusters.poolsOf(page.items.map((c) => c.id));
    return { items: page.items.map((c) => toClusterDto(c, pools)), nextCursor: page.nextCursor };
  }

  async nodes(projectName: string, clusterName: string, query: PageQuery): Promise<NodeListDto> {
    const cluster = await this.requireCluster(await this.projects.require(projectName), clusterName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.clusters.nodes(
      cluster.id,
      limit,
      after ? { hostname: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (n) => ({ key: n.hostname, id: n.id }));
    return { items: page.items.map(toNodeDto), nextCursor: page.nextCursor };
  }

  async delete(projectName: string, clusterName: string): Promise<OperationDto> {
    const project = await this.projects.require(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.requireLiveCluster(project, clusterName);
      await this.enqueue(operationId, 'delete-cluster', project, cluster.id, null, planDeleteCluster());
      await this.clusters.setState(cluster.id, 'deleting');
    });
    return this.operation(operationId);
  }

  async addNodePool(projectName: string, clusterName: string, body: NodePoolSpecDto): Promise<OperationDto> {
    const project = await this.projects.require(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.requireLiveCluster(project, clusterName);
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
        roles: toRoles(body.roles),
        flavor: body.flavor,
        nodeTemplateId,
        quantity: body.quantity,
      };
      if (!(await this.clusters.insertPools([pool]))) {
        throw conflict(
          'NODE_POOL_EXISTS',
          `cluster '${clusterName}' already has a pool named '${body.name}'`,
        );
      }
      await this.enqueue(operationId, 'add-node-pool', project, cluster.id, pool.id, planAddNodePool(pool));
      await this.clusters.setState(cluster.id, 'updating');
      // Counters last, quota before backend (see placeAndRecord).
      await this.quota.reserve(project.id, { clusters: 0, nodes: body.quantity });
      await this.reserveNodes(cluster, body.quantity);
    });
    return this.operation(operationId);
  }

  async scaleNodePool(
    projectName: string,
    clusterName: string,
    poolName: string,
    quantity: number,
  ): Promise<OperationDto> {
    const project = await this.projects.require(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.requireLiveCluster(project, clusterName);
      const pool = await this.requirePool(cluster, poolName);
      await this.enqueue(
        operationId,
        'scale-node-pool',
        project,
        cluster.id,
        pool.id,
        planScaleNodePool(pool),
        {
          quantity,
          previousQuantity: pool.quantity,
        },
      );
      await this.clusters.setPoolState(pool.id, 'scaling', quantity);
      await this.clusters.setState(cluster.id, 'updating');
      // Growth is counted against the quota and the backend now (counters last, quota before
      // backend); a shrink frees both once it is done.
      if (quantity > pool.quantity) {
        await this.quota.reserve(project.id, { clusters: 0, nodes: quantity - pool.quantity });
        await this.reserveNodes(cluster, quantity - pool.quantity);
      }
    });
    return this.operation(operationId);
  }

  async deleteNodePool(projectName: string, clusterName: string, poolName: string): Promise<OperationDto> {
    const project = await this.projects.require(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.requireLiveCluster(project, clusterName);
      const pool = await this.requirePool(cluster, poolName);
      const remaining = (await this.clusters.poolsOf([cluster.id])).filter((p) => p.id !== pool.id);
      const problems = checkPools(
        remaining.map((p) => ({ ...p, quantity: p.quantity })),
        'nodePools',
      );
      if (problems.length > 0) {
        throw conflict(
          'CLUSTER_WOULD_LOSE_ROLE',
          `removing pool '${poolName}' would leave the cluster without a required role`,
        );
      }
      await this.enqueue(
        operationId,
        'delete-node-pool',
        project,
        cluster.id,
        pool.id,
        planDeleteNodePool(pool),
      );
      await this.clusters.setPoolState(pool.id, 'deleting');
      await this.clusters.setState(cluster.id, 'updating');
    });
    return this.operation(operationId);
  }

  /** Kubeconfig from the cluster's backend: the one user call that reaches Rancher, as it must. */
  async kubeconfig(projectName: string, clusterName: string): Promise<string> {
    const cluster = await this.requireCluster(await this.projects.require(projectName), clusterName);
    if (!cluster.rancherId || !['active', 'updating', 'error'].includes(cluster.state)) {
      throw conflict(
        'CLUSTER_NOT_READY',
        `cluster '${clusterName}' is ${cluster.state}; a kubeconfig is available once it is active`,
      );
    }
    const backend = await this.backends.findById(cluster.backendId);
    if (!backend) throw new Error(`backend ${cluster.backendId} of cluster ${cluster.id} is missing`);
    try {
      return await this.drivers.forBackend(backend).generateKubeconfig(cluster.rancherId);
    } catch (error) {
      if (!isBackendError(error)) throw error;
      throw new ProblemError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'BACKEND_UNAVAILABLE',
        `the cluster's backend could not issue a kubeconfig (${error.kind}); try again`,
      );
    }
  }

  async operation(id: string): Promise<OperationDto> {
    const op = await this.operations.findById(id);
    if (!op) throw notFound('operation', id);
    return toOperationDto(op);
  }

  private async enqueue(
    operationId: string,
    type: OperationType,
    project: Project,
    clusterId: string,
    nodePoolId: string | null,
    steps: PlannedStep[],
    params: Record<string, number> = {},
  ): Promise<NewOperation> {
    const operation: NewOperation = {
      id: operationId,
      projectId: project.id,
      clusterId,
      nodePoolId,
      type,
      params,
      deadlineAt: new Date(Date.now() + this.config.operationDeadlineMs),
      steps,
    };
    const accepted = await this.operations.insert(operation);
    if (!accepted) {
      throw conflict(
        'OPERATION_IN_PROGRESS',
        'another operation is changing this cluster; wait for it to finish',
        {
          clusterId,
        },
      );
    }
    this.uow.afterCommit(() => this.relay.kick());
    return operation;
  }

  private async reserveNodes(cluster: ClusterRecord, nodes: number): Promise<void> {
    if (!(await this.backends.reserve(cluster.backendId, 0, nodes))) {
      throw conflict(
        'BACKEND_CAPACITY_EXCEEDED',
        `the cluster's backend has no room for ${nodes} more node(s)`,
      );
    }
  }

  /**
   * Flavors of every registered backend, whatever its state: a flavor that only a draining or
   * disabled backend offers is a valid request that nothing can take now (503 from placement,
   * with the reasons), not an invalid one (400).
   */
  private async requireCluster(project: Project, name: string): Promise<ClusterRecord> {
    const cluster = await this.clusters.findByName(project.id, name);
    if (!cluster) throw notFound('cluster', name);
    return cluster;
  }

  /** A cluster that exists and is not being deleted (so it can be changed). */
  private async requireLiveCluster(project: Project, name: string): Promise<ClusterRecord> {
    const cluster = await this.requireCluster(project, name);
    if (cluster.state === 'deleted' || cluster.state === 'failed') throw notFound('cluster', name);
    if (cluster.state === 'deleting') {
      throw conflict('OPERATION_IN_PROGRESS', `cluster '${name}' is being deleted`, {
        clusterId: cluster.id,
      });
    }
    return cluster;
  }

  private async requirePool(cluster: ClusterRecord, name: string): Promise<NodePoolRecord> {
    const pool = await this.clusters.findLivePoolByName(cluster.id, name);
    if (!pool) throw notFound('node pool', name);
    return pool;
  }
}
