import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/** INCR each key, starting its expiry on first use; one round trip for both counters. */
const HIT_SCRIPT = `
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  counts[i] = n
end
return counts`;

export interface RateLimitVerdict {
  scope: 'token' | 'project';
  limit: number;
  retryAfterSeconds: number;
}

type HitCommand = (...args: Array<string | number>) => Promise<number[]>;

/**
 * Fixed-window request counters in Redis, shared by every API replica: one per token and one per
 * project. A window is `windowMs` long and aligned to the clock, so every replica counts into the
 * same key. If Redis does not answer, requests pass (a limiter must not take the API down).
 */
@Injectable()
export class RateLimiter {
  private readonly logger = new Logger(RateLimiter.name);
  private readonly hitCommand: HitCommand;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) redis: Redis,
  ) {
    const commands = redis as unknown as Record<string, HitCommand | undefined>;
    if (!commands.paddockRateHit) redis.defineCommand('paddockRateHit', { lua: HIT_SCRIPT });
    this.hitCommand = (...args) => (commands.paddockRateHit as HitCommand).apply(redis, args);
  }

  /** Counts one request; returns what was exceeded, or null. */
  async hit(credentialId: string, project: string | null): Promise<RateLimitVerdict | null> {
    const { windowMs, perToken, perProject } = this.config.rateLimit;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const prefix = `${this.config.queuePrefix}:ratelimit:${window}`;
    const checks: Array<{ key: string; scope: RateLimitVerdict['scope']; limit: number }> = [];
    if (perToken > 0)
      checks.push({ key: `${prefix}:token:${credentialId}`, scope: 'token', limit: perToken });
    if (perProject > 0 && project)
      checks.push({ key: `${prefix}:project:${project}`, scope: 'project', limit: perProject });
    if (checks.length === 0) return null;
    let counts: number[];
    try {
      counts = await this.hitCommand(checks.length, ...checks.map((c) => c.key), windowMs + 1_000);
    } catch (error) {
      this.logger.warn({ err: error }, 'rate limiter unavailable; letting the request through');
      return null;
    }
    const exceeded = checks.find((c, i) => counts[i] > c.limit);
    if (!exceeded) return null;
    return {
      scope: exceeded.scope,
      limit: exceeded.limit,
      retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1000)),
    };
  }
}
