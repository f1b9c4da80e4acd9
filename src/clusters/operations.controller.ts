import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiDefaultResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../common/auth.guard';
import { ClientGone } from '../common/client-gone';
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
  get(
    @Param('operation') id: string,
    @Query() query: WaitQuery,
    @CurrentPrincipal() principal: Principal,
    @ClientGone() clientGone: AbortSignal,
  ): Promise<OperationDto> {
    return this.operations.get(id, principal, query.waitSeconds ?? 0, clientGone);
  }
}
