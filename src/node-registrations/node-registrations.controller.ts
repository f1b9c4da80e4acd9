import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiDefaultResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiProblems } from '../common/api-problems';
import { PageQuery } from '../common/cursor';
import { ProblemDto } from '../common/problem.dto';
import { OperationDto } from '../clusters/operation.dto';
import {
  CreatedNodeRegistrationDto,
  CreateNodeRegistrationDto,
  NodeRegistrationDto,
  NodeRegistrationListDto,
} from './node-registration.dto';
import { NodeRegistrationsService } from './node-registrations.service';
import { RegisteredNodes } from './registered-nodes.service';

@ApiTags('nodes')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters/:cluster')
export class NodeRegistrationsController {
  constructor(
    private readonly registrations: NodeRegistrationsService,
    private readonly nodes: RegisteredNodes,
  ) {}

  @Post('node-registrations')
  @HttpCode(201)
  @ApiProblems({
    409: ['CLUSTER_NOT_ACTIVE', 'QUOTA_EXCEEDED', 'OPERATION_IN_PROGRESS'],
    503: ['BACKEND_UNAVAILABLE'],
  })
  @ApiOperation({
    operationId: 'createNodeRegistration',
    summary: "A worker-only join command for the team's own servers; holds `count` nodes of quota",
  })
  @ApiCreatedResponse({ type: CreatedNodeRegistrationDto })
  create(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Body() body: CreateNodeRegistrationDto,
  ): Promise<CreatedNodeRegistrationDto> {
    return this.registrations.create(project, cluster, body);
  }

  @Get('node-registrations')
  @ApiOperation({
    operationId: 'listNodeRegistrations',
    summary: 'Node registrations of a cluster with how many servers joined (never the command)',
  })
  list(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Query() query: PageQuery,
  ): Promise<NodeRegistrationListDto> {
    return this.registrations.list(project, cluster, query);
  }

  @Delete('node-registrations/:registration')
  @ApiProblems({ 409: ['REGISTRATION_CLOSED'] })
  @ApiOperation({
    operationId: 'revokeNodeRegistration',
    summary: 'Revoke a registration: its command stops working, the unused reservation is freed',
  })
  revoke(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('registration') registration: string,
  ): Promise<NodeRegistrationDto> {
    return this.registrations.revoke(project, cluster, registration);
  }

  @Delete('nodes/:node')
  @HttpCode(202)
  @ApiProblems({ 409: ['OPERATION_IN_PROGRESS', 'NOT_A_REGISTERED_NODE'] })
  @ApiOperation({
    operationId: 'deleteNode',
    summary: 'Remove a registered node (no replacement); `node` is its hostname as listed, or its id',
  })
  @ApiAcceptedResponse({ type: OperationDto })
  async deleteNode(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('node') node: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.nodes.remove(project, cluster, node);
    res.setHeader('Location', `/v1/operations/${operation.id}`);
    return operation;
  }
}
