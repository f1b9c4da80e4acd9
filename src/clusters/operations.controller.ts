import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ProblemDto } from '../common/problem.dto';
import { OperationDto, WaitQuery } from './operation.dto';
import { OperationsService } from './operations.service';

@ApiTags('operations')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get(':operation')
  @ApiOperation({
    operationId: 'getOperation',
    summary: 'An operation with its steps; `waitSeconds` long-polls',
  })
  get(@Param('operation') id: string, @Query() query: WaitQuery): Promise<OperationDto> {
    return this.operations.get(id, query.waitSeconds ?? 0);
  }
}
