import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/auth.guard';
import { ReadinessDto } from './health.dto';
import { HealthService } from './health.service';

@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: the process answers. */
  @Public()
  @Get('healthz')
  @ApiOperation({ operationId: 'healthz', summary: 'Liveness' })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis answer within a second each. */
  @Public()
  @Get('readyz')
  @ApiOperation({ operationId: 'readyz', summary: 'Readiness (Postgres and Redis)' })
  async readyz(@Res({ passthrough: true }) res: Response): Promise<ReadinessDto> {
    const readiness = await this.health.readiness();
    res.status(readiness.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return readiness;
  }
}
