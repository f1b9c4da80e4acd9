import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { RedisHealthIndicator } from './redis.health';

/** Each dependency must answer within this long, so a probe never hangs on a dead one. */
const CHECK_TIMEOUT_MS = 1_000;

export interface Readiness {
  status: 'ok' | 'unavailable';
  checks: { postgres: 'up' | 'down'; redis: 'up' | 'down' };
}

/** Readiness through terminus' checks, answered in Paddock's own small shape. */
@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly dataSource: DataSource,
  ) {}

  async readiness(): Promise<Readiness> {
    const result = await this.health
      .check([
        () => this.postgres.pingCheck('postgres', { connection: this.dataSource, timeout: CHECK_TIMEOUT_MS }),
        () => this.redis.pingCheck('redis', CHECK_TIMEOUT_MS),
      ])
      .catch((error: unknown) => {
        // terminus reports a failed check as a 503 exception carrying the same result.
        if (error instanceof ServiceUnavailableException) return error.getResponse() as HealthCheckResult;
        throw error;
      });
    const state = (key: string) => (result.details[key]?.status === 'up' ? 'up' : 'down');
    return {
      status: result.status === 'ok' ? 'ok' : 'unavailable',
      checks: { postgres: state('postgres'), redis: state('redis') },
    };
  }
}
