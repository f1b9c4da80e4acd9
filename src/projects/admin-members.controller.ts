import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiNoContentResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { PageQuery } from '../common/cursor';
import { ProblemDto } from '../common/problem.dto';
import { AddMemberDto, MemberDto, MemberListDto } from './member.dto';
import { MembersService } from './members.service';
import { ApiProblems } from '../common/api-problems';

@ApiTags('admin')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin/projects/:project/members')
export class AdminMembersController {
  constructor(private readonly members: MembersService) {}

  @Post()
  @HttpCode(201)
  @ApiProblems({ 409: ['MEMBER_EXISTS'] })
  @ApiOperation({ operationId: 'addProjectMember', summary: 'Make a subject a member of the project' })
  add(@Param('project') project: string, @Body() body: AddMemberDto): Promise<MemberDto> {
    return this.members.add(project, body.subject);
  }

  @Get()
  @ApiOperation({ operationId: 'listProjectMembers', summary: 'Members of the project' })
  list(@Param('project') project: string, @Query() query: PageQuery): Promise<MemberListDto> {
    return this.members.list(project, query);
  }

  @Delete(':subject')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Removed; its member tokens lose access to the project at once' })
  @ApiOperation({ operationId: 'removeProjectMember', summary: 'Remove a member from the project' })
  remove(@Param('project') project: string, @Param('subject') subject: string): Promise<void> {
    return this.members.remove(project, subject);
  }
}
