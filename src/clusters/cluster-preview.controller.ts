import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Principal } from '../common/auth.guard';
import { ProblemDto } from '../common/problem.dto';
import { ClusterPlanDto, CreateClusterDto } from './cluster.dto';
import { ClusterCreation } from './cluster-creation.service';

@ApiTags('clusters')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project')
export class ClusterPreviewController {
  constructor(private readonly creation: ClusterCreation) {}

  // The public name of the dry run is `clusters:plan` (route and operationId are the API's
  // contract); inside, it is the create's preview. The path is one literal segment; the colon is escaped for the router.
  @Post('clusters\\:plan')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'planCluster',
    summary: 'Dry run of a create: validation, quota, placement and the Rancher calls it would make',
  })
  @ApiOkResponse({ type: ClusterPlanDto })
  preview(
    @Param('project') project: string,
    @Body() body: CreateClusterDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ClusterPlanDto> {
    return this.creation.preview(project, body, principal);
  }
}
