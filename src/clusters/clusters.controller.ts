import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ProblemDto } from '../common/problem.dto';
import type { Response } from 'express';
import { PageQuery } from '../common/cursor';
import {
  ClusterDto,
  ClusterListDto,
  CreateClusterDto,
  ListClustersQuery,
  NodeListDto,
  NodePoolSpecDto,
  UpdateClusterDto,
  UpdateNodePoolDto,
} from './cluster.dto';
import { badRequest } from '../common/problem';
import { NodeReplacement } from './node-replacement.service';
import { ClusterChanges } from './cluster-changes.service';
import { ClusterCreation } from './cluster-creation.service';
import { ClusterReads } from './cluster-reads.service';
import { ClusterAcceptedDto, OperationDto } from './operation.dto';
import { ApiProblems } from '../common/api-problems';

const located = <T extends { id: string }>(res: Response, operation: T) => {
  res.setHeader('Location', `/v1/operations/${operation.id}`);
};

@ApiTags('clusters')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters')
export class ClustersController {
  constructor(
    private readonly creation: ClusterCreation,
    private readonly changes: ClusterChanges,
    private readonly reads: ClusterReads,
    private readonly nodeReplacement: NodeReplacement,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiProblems({
    409: ['CLUSTER_EXISTS', 'QUOTA_EXCEEDED'],
    422: ['REGION_UNKNOWN', 'LIFETIME_EXCEEDED'],
    503: ['NO_BACKEND_AVAILABLE'],
  })
  @ApiOperation({
    operationId: 'createCluster',
    summary: 'Create a cluster; answers at once with the operation that builds it',
  })
  @ApiAcceptedResponse({ type: ClusterAcceptedDto })
  async create(
    @Param('project') project: string,
    @Body() body: CreateClusterDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ClusterAcceptedDto> {
    const accepted = await this.creation.create(project, body);
    located(res, accepted.operation);
    return accepted;
  }

  @Get()
  @ApiOperation({ operationId: 'listClusters', summary: 'List the clusters of a project' })
  list(@Param('project') project: string, @Query() query: ListClustersQuery): Promise<ClusterListDto> {
    return this.reads.list(project, query);
  }

  @Get(':cluster')
  @ApiOperation({
    operationId: 'getCluster',
    summary: 'One cluster with its pools and conditions (as last synced)',
  })
  get(@Param('project') project: string, @Param('cluster') cluster: string): Promise<ClusterDto> {
    return this.reads.get(project, cluster);
  }

  @Patch(':cluster')
  @ApiProblems({
    409: ['OPERATION_IN_PROGRESS', 'CLUSTER_NOT_ACTIVE', 'CLUSTER_NOT_READY', 'BACKUPS_NOT_CONFIGURED'],
    422: ['LIFETIME_EXCEEDED', 'DOWNGRADE_NOT_ALLOWED', 'VERSION_SKEW', 'VERSION_NOT_AVAILABLE'],
  })
  @ApiOperation({
    operationId: 'updateCluster',
    summary:
      "Set or clear a cluster's expiry (`expiresAt`, null clears it; 200), and/or upgrade it (`kubernetesVersion`) or change its backup schedule (`backup`): 202 with the operation",
  })
  @ApiOkResponse({ type: ClusterDto, description: 'No operation was started: the cluster as changed' })
  @ApiAcceptedResponse({ type: OperationDto, description: 'The upgrade or backup-schedule operation' })
  async update(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Body() body: UpdateClusterDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ClusterDto | OperationDto> {
    const changed = await this.changes.updateCluster(project, cluster, body);
    if ('cluster' in changed) return changed.cluster;
    res.status(202);
    located(res, changed.operation);
    return changed.operation;
  }

  @Delete(':cluster')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS'] })
  @ApiOperation({ operationId: 'deleteCluster', summary: 'Delete a cluster' })
  @ApiAcceptedResponse({ type: OperationDto })
  async delete(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.changes.deleteCluster(project, cluster);
    located(res, operation);
    return operation;
  }

  @Get(':cluster/nodes')
  @ApiOperation({ operationId: 'listNodes', summary: 'Nodes of a cluster, as last synced' })
  nodes(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Query() query: PageQuery,
  ): Promise<NodeListDto> {
    return this.reads.nodes(project, cluster, query);
  }

  @Delete(':cluster/nodes/:node')
  @HttpCode(202)
  @ApiProblems({
    409: ['OPERATION_IN_PROGRESS', 'NODE_BEING_REMOVED'],
    422: ['WOULD_LOSE_QUORUM', 'NODE_NOT_IN_POOL'],
  })
  @ApiOperation({
    operationId: 'removeNode',
    summary:
      'Replace a pool node (`{node}`: its hostname as listed, or its id): the backend deletes it and the pool makes a new one; a registered node is removed for good and its quota freed',
  })
  @ApiAcceptedResponse({ type: OperationDto })
  async removeNode(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('node') node: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.nodeReplacement.removeNode(project, cluster, node);
    located(res, operation);
    return operation;
  }

  @Post(':cluster/node-pools')
  @HttpCode(202)
  @ApiProblems({
    409: ['OPERATION_IN_PROGRESS', 'NODE_POOL_EXISTS', 'QUOTA_EXCEEDED', 'BACKEND_CAPACITY_EXCEEDED'],
  })
  @ApiOperation({ operationId: 'addNodePool', summary: 'Add a node pool' })
  @ApiAcceptedResponse({ type: OperationDto })
  async addNodePool(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Body() body: NodePoolSpecDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.changes.addNodePool(project, cluster, body);
    located(res, operation);
    return operation;
  }

  @Patch(':cluster/node-pools/:pool')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'QUOTA_EXCEEDED', 'BACKEND_CAPACITY_EXCEEDED'] })
  @ApiOperation({
    operationId: 'scaleNodePool',
    summary: 'Scale a node pool and/or change its auto-replace setting (`autoReplace`, null turns it off)',
  })
  @ApiAcceptedResponse({ type: OperationDto })
  async scaleNodePool(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('pool') pool: string,
    @Body() body: UpdateNodePoolDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const autoReplace =
      body.autoReplace === undefined ? undefined : (body.autoReplace?.unhealthyAfterSeconds ?? null);
    if (body.quantity === undefined && autoReplace === undefined) {
      throw badRequest('invalid request: give quantity, autoReplace or both', [
        { field: 'quantity', message: 'quantity or autoReplace must be given' },
      ]);
    }
    const operation = await this.changes.changeNodePool(project, cluster, pool, {
      quantity: body.quantity,
      autoReplaceSeconds: autoReplace,
    });
    located(res, operation);
    return operation;
  }

  @Delete(':cluster/node-pools/:pool')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'CLUSTER_WOULD_LOSE_ROLE'] })
  @ApiOperation({ operationId: 'deleteNodePool', summary: 'Remove a node pool' })
  @ApiAcceptedResponse({ type: OperationDto })
  async deleteNodePool(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('pool') pool: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.changes.deleteNodePool(project, cluster, pool);
    located(res, operation);
    return operation;
  }
}
