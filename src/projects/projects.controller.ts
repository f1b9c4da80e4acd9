import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../common/auth.guard';
import { PageQuery } from '../common/cursor';
import { ProblemDto } from '../common/problem.dto';
import { ProjectListDto } from './project.dto';
import { ProjectsService } from './projects.service';

@ApiTags('projects')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/projects')
export class ProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Get()
  @ApiOperation({ operationId: 'listMyProjects', summary: 'The projects the caller can see' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<ProjectListDto> {
    return this.projects.listVisible(principal, query);
  }
}
