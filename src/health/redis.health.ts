import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { timeout, TimeoutStrategy } from 'cockatiel';
import Redis from 'ioredis';

/** Redis answers a PING within the deadline (terminus has no Redis indicator of its own). */
@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(Redis) private readonly redis: Redis,
  ) {}

  async pingCheck(key: string, timeoutMs: number) {
    const check = this.indicators.check(key);
    try {
      await timeout(timeoutMs, TimeoutStrategy.Aggressive).execute(() => this.redis.ping());
      return check.up();
    } catch (error) {
      return check.down({ message: error instanceof Error ? error.message : String(error) });
    }
  }
}
