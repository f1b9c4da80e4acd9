import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiDefaultResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../common/auth.guard';
import { ClientGone } from '../common/client-gone';
import { ProblemDto } from '../common/problem.dto';
import { OperationDto, WaitQuery } from './operation.dto';
import { OperationsService } from './operations.service';
import { ApiProblems } from '../common/api-problems';

@ApiTags('operations')
@ApiBearerAuth()
@ApiDefaultResponse({ type: ProblemDto, description: 'Problem details (RFC 9457)' })
@Controller('v1/operations')
export class OperationsController {
  constructor(private readonly operations: OperationsService) {}

  @Get(':operation')
  @ApiProblems({ 429: ['TOO_MANY_WAITS'], 503: ['TOO_MANY_WAITS'] })
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

  @Post(':operation/cancel')
  @HttpCode(202)
  @ApiProblems({ 409: ['NOT_CANCELLABLE', 'OPERATION_FINISHED'] })
  @ApiOperation({
    operationId: 'cancelOperation',
    summary:
      'Stop an operation at its next step boundary; a create or an added pool is undone, a scale keeps what the backend has. Ends `cancelled`',
  })
  @ApiAcceptedResponse({ type: OperationDto })
  cancel(@Param('operation') id: string, @CurrentPrincipal() principal: Principal): Promise<OperationDto> {
    return this.operations.cancel(id, principal);
  }
}
