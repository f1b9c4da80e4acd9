import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../common/api-problems';
import { ProblemDto } from '../common/problem.dto';
import { KubernetesVersionListDto, KubernetesVersionsQuery } from './kubernetes-versions.dto';
import { KubernetesVersionsService } from './kubernetes-versions.service';

@ApiTags('clusters')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/kubernetes-versions')
export class KubernetesVersionsController {
  constructor(private readonly versions: KubernetesVersionsService) {}

  @Get()
  @ApiProblems({ 422: ['REGION_UNKNOWN'] })
  @ApiOperation({
    operationId: 'listKubernetesVersions',
    summary: 'Kubernetes versions new clusters and upgrades may use, with the regions offering each',
  })
  list(@Query() query: KubernetesVersionsQuery): Promise<KubernetesVersionListDto> {
    return this.versions.list(query.region);
  }
}
