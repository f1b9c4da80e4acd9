import { Controller, Get, Header, Param, Query, Req } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { CurrentPrincipal, type Principal } from '../common/auth.guard';
import { ProblemDto } from '../common/problem.dto';
import { KubeconfigQuery } from './kubeconfig.dto';
import { KubeconfigService } from './kubeconfig.service';
import { ApiProblems } from '../common/api-problems';

/** pino-http gives every request an id (also sent back as `X-Request-Id`). */
const requestIdOf = (request: Request & { id?: unknown }) =>
  typeof request.id === 'string' ? request.id : null;

@ApiTags('clusters')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/clusters')
export class KubeconfigController {
  constructor(private readonly kubeconfigs: KubeconfigService) {}

  @Get(':cluster/kubeconfig')
  @Header('Content-Type', 'application/yaml; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiProduces('application/yaml')
  @ApiOkResponse({
    description:
      "Kubeconfig YAML: server is Paddock's Kubernetes API proxy, user a new Paddock credential (`pdk_kc_…`)",
    content: { 'application/yaml': { schema: { type: 'string' } } },
  })
  @ApiProblems({ 409: ['CLUSTER_NOT_READY'] })
  @ApiOperation({
    operationId: 'getKubeconfig',
    summary: 'A kubeconfig for the cluster, with a new short-lived credential bound to the caller',
  })
  kubeconfig(
    @Param('project') project: string,
    @Param('cluster') cluster: string,
    @Query() query: KubeconfigQuery,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<string> {
    return this.kubeconfigs.issue(project, cluster, query.ttlSeconds, principal, requestIdOf(request));
  }
}
