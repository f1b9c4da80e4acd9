import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '../common/problem.dto';
import { PageQuery } from '../common/cursor';
import { CreateProjectDto, ProjectDto, ProjectListDto } from './project.dto';
import { ProjectsService } from './projects.service';
import { ApiProblems } from '../common/api-problems';

@ApiTags('admin')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin/projects')
export class AdminProjectsController {
  constructor(private readonly projects: ProjectsService) {}

  @Post()
  @HttpCode(201)
  @ApiProblems({ 409: ['PROJECT_EXISTS'] })
  @ApiOperation({ operationId: 'createProject', summary: 'Create a project' })
  create(@Body() body: CreateProjectDto): Promise<ProjectDto> {
    return this.projects.create(body.name);
  }

  @Get()
  @ApiOperation({ operationId: 'listProjects', summary: 'List every project' })
  list(@Query() query: PageQuery): Promise<ProjectListDto> {
    return this.projects.list(query);
  }
}
