import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { OperationDto } from '../clusters/operation.dto';
import { ApiProblems } from '../common/api-problems';
import { ProblemDto } from '../common/problem.dto';
import {
  AddonDto,
  AddonListDto,
  AddonRolloutStatusDto,
  ClusterAddonListDto,
  CreateAddonDto,
  InstallAddonDto,
  UpdateAddonDto,
} from './addon.dto';
import { AddonsService } from './addons.service';
import { ClusterAddonsService } from './cluster-addons.service';

const CHART_PROBLEMS = ['CHART_REPO_UNREADABLE', 'CHART_NOT_FOUND', 'CHART_VERSION_NOT_FOUND'];

@ApiTags('admin')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin/addons')
export class AdminAddonsController {
  constructor(private readonly addons: AddonsService) {}

  @Post()
  @HttpCode(201)
  @ApiProblems({ 409: ['ADDON_EXISTS'], 422: CHART_PROBLEMS })
  @ApiOperation({
    operationId: 'createAddon',
    summary: "Add an addon to the catalog (the chart version is checked in the repository's index)",
  })
  create(@Body() body: CreateAddonDto): Promise<AddonDto> {
    return this.addons.create(body);
  }

  @Get()
  @ApiOperation({ operationId: 'listAddons', summary: 'The addon catalog' })
  list(): Promise<AddonListDto> {
    return this.addons.list();
  }

  @Get(':addon')
  @ApiOperation({ operationId: 'getAddon', summary: 'One addon' })
  get(@Param('addon') name: string): Promise<AddonDto> {
    return this.addons.get(name);
  }

  @Patch(':addon')
  @ApiProblems({ 409: ['ADDON_DELETING'], 422: CHART_PROBLEMS })
  @ApiOperation({
    operationId: 'updateAddon',
    summary: 'Change an addon; a new version or values rolls out to every cluster that has it',
  })
  update(@Param('addon') name: string, @Body() body: UpdateAddonDto): Promise<AddonDto> {
    return this.addons.update(name, body);
  }

  @Delete(':addon')
  @HttpCode(202)
  @ApiOperation({
    operationId: 'deleteAddon',
    summary: 'Remove an addon from every cluster, then from the catalog',
  })
  @ApiAcceptedResponse({ type: AddonDto })
  remove(@Param('addon') name: string): Promise<AddonDto> {
    return this.addons.remove(name);
  }

  @Get(':addon/rollout')
  @ApiOperation({
    operationId: 'getAddonRollout',
    summary: "Where the addon's current version stands, per backend",
  })
  rollout(@Param('addon') name: string): Promise<AddonRolloutStatusDto> {
    return this.addons.rollout(name);
  }

  @Post(':addon/rollout/resume')
  @HttpCode(202)
  @ApiProblems({ 409: ['ROLLOUT_NOT_PAUSED', 'ADDON_DELETING'] })
  @ApiOperation({ operationId: 'resumeAddonRollout', summary: 'Continue a paused rollout' })
  @ApiAcceptedResponse({ type: AddonRolloutStatusDto })
  resume(@Param('addon') name: string): Promise<AddonRolloutStatusDto> {
    return this.addons.resume(name);
  }
}

const located = (res: Response, operation: OperationDto) => {
  res.setHeader('Location', `/v1/operations/${operation.id}`);
};

@ApiTags('addons')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters/:cluster/addons')
export class ClusterAddonsController {
  constructor(private readonly addons: ClusterAddonsService) {}

  @Get()
  @ApiOperation({ operationId: 'listClusterAddons', summary: "A cluster's addons, as last synced" })
  list(@Param('project') project: string, @Param('cluster') cluster: string): Promise<ClusterAddonListDto> {
    return this.addons.list(project, cluster);
  }

  @Put(':addon')
  @HttpCode(202)
  @ApiProblems({
    409: ['ADDON_REQUIRED', 'ADDONS_UNSUPPORTED_ON_BACKEND', 'OPERATION_IN_PROGRESS', 'CLUSTER_NOT_READY'],
  })
  @ApiOperation({ operationId: 'installClusterAddon', summary: 'Opt the cluster in to an optional addon' })
  @ApiAcceptedResponse({ type: OperationDto })
  async install(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('addon') addon: string,
    @Body() body: InstallAddonDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.addons.install(project, cluster, addon, body.values ?? null);
    located(res, operation);
    return operation;
  }

  @Delete(':addon')
  @HttpCode(202)
  @ApiProblems({ 409: ['ADDON_REQUIRED', 'OPERATION_IN_PROGRESS', 'CLUSTER_NOT_READY'] })
  @ApiOperation({ operationId: 'uninstallClusterAddon', summary: 'Opt the cluster out of an optional addon' })
  @ApiAcceptedResponse({ type: OperationDto })
  async uninstall(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Param('addon') addon: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OperationDto> {
    const operation = await this.addons.uninstall(project, cluster, addon);
    located(res, operation);
    return operation;
  }
}
