import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '../common/problem.dto';
import { QuotaDto } from './quota.dto';
import { QuotaService } from './quota.service';

@ApiTags('projects')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects/:project/quota')
export class QuotaController {
  constructor(private readonly quotas: QuotaService) {}

  @Get()
  @ApiOperation({ operationId: 'getProjectQuota', summary: "The project's limits, usage and reservations" })
  get(@Param('project') project: string): Promise<QuotaDto> {
    return this.quotas.get(project);
  }
}
