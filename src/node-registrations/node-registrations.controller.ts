import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiDefaultResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems';
import { PageQuery } from '../common/cursor';
import { ProblemDto } from '../common/problem.dto';
import {
  CreatedNodeRegistrationDto,
  CreateNodeRegistrationDto,
  NodeRegistrationDto,
  NodeRegistrationListDto,
} from './node-registration.dto';
import { NodeRegistrationsService } from './node-registrations.service';

@ApiTags('nodes')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters/:cluster')
export class NodeRegistrationsController {
  constructor(private readonly registrations: NodeRegistrationsService) {}

  @Post('node-registrations')
  @HttpCode(201)
  @ApiProblems({
    409: ['CLUSTER_NOT_ACTIVE', 'QUOTA_EXCEEDED'],
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
}
