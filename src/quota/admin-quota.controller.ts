import { Body, Controller, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PageQuery } from '../common/cursor';
import { ProblemDto } from '../common/problem.dto';
import { QuotaDto, QuotaListDto, QuotaReconcileReportDto, SetQuotaDto } from './quota.dto';
import { QuotaReconciler } from './quota-reconciler.service';
import { QuotaService } from './quota.service';

@ApiTags('admin')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin')
export class AdminQuotaController {
  constructor(
    private readonly quotas: QuotaService,
    private readonly reconciler: QuotaReconciler,
  ) {}

  @Get('projects/:project/quota')
  @ApiOperation({
    operationId: 'adminGetProjectQuota',
    summary: "A project's limits, usage and reservations",
  })
  get(@Param('project') project: string): Promise<QuotaDto> {
    return this.quotas.get(project);
  }

  @Put('projects/:project/quota')
  @ApiOperation({
    operationId: 'setProjectQuota',
    summary: "Set a project's limits; lowering one below usage only blocks growth",
  })
  set(@Param('project') project: string, @Body() body: SetQuotaDto): Promise<QuotaDto> {
    return this.quotas.setLimits(project, body);
  }

  @Get('quotas')
  @ApiOperation({ operationId: 'listQuotas', summary: 'Limits and usage of every project' })
  list(@Query() query: PageQuery): Promise<QuotaListDto> {
    return this.quotas.list(query);
  }

  @Post('quotas/reconcile')
  @HttpCode(200)
  @ApiOperation({
    operationId: 'reconcileQuotas',
    summary:
      'Recompute usage from the cluster tables now and repair any drift (workers also do this periodically)',
  })
  reconcile(): Promise<QuotaReconcileReportDto> {
    return this.reconciler.reconcile();
  }
}
