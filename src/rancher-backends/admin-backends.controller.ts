import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiExtraModels, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '../common/problem.dto';
import { PageQuery } from '../common/cursor';
import { BackendDto, BackendListDto, FlavorDto, RegisterBackendDto, UpdateBackendDto } from './backend.dto';
import { BackendsService } from './backends.service';
import { ApiProblems } from '../common/api-problems';

@ApiTags('admin')
@ApiBearerAuth()
@ApiExtraModels(FlavorDto)
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/admin/backends')
export class AdminBackendsController {
  constructor(private readonly backends: BackendsService) {}

  @Post()
  @HttpCode(201)
  @ApiProblems({ 409: ['BACKEND_EXISTS'], 422: ['BACKEND_VERIFICATION_FAILED'] })
  @ApiOperation({
    operationId: 'registerBackend',
    summary: 'Register a Rancher backend (verified before it is saved)',
  })
  register(@Body() body: RegisterBackendDto): Promise<BackendDto> {
    return this.backends.register(body);
  }

  @Get()
  @ApiOperation({ operationId: 'listBackends', summary: 'List backends with their usage' })
  list(@Query() query: PageQuery): Promise<BackendListDto> {
    return this.backends.list(query);
  }

  @Get(':backend')
  @ApiOperation({ operationId: 'getBackend', summary: 'One backend' })
  get(@Param('backend') name: string): Promise<BackendDto> {
    return this.backends.get(name);
  }

  @Patch(':backend')
  @ApiOperation({
    operationId: 'updateBackend',
    summary: 'Change a backend (URL, token and flavors are re-verified)',
  })
  update(@Param('backend') name: string, @Body() body: UpdateBackendDto): Promise<BackendDto> {
    return this.backends.update(name, body);
  }

  @Delete(':backend')
  @HttpCode(204)
  @ApiProblems({ 409: ['BACKEND_IN_USE'] })
  @ApiOperation({ operationId: 'deleteBackend', summary: 'Remove a backend that has no live clusters' })
  remove(@Param('backend') name: string): Promise<void> {
    return this.backends.remove(name);
  }
}
