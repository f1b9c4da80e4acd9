import { HttpStatus, Inject, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ProblemError } from './problem';

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

/** The one Lua command, defined once per Redis connection, whoever asks first. */
function hitCommandOf(redis: Redis): HitCommand {
  const commands = redis as unknown as Record<string, HitCommand | undefined>;
  if (!commands.paddockRateHit) redis.defineCommand('paddockRateHit', { lua: HIT_SCRIPT });
  return (...args) => (commands.paddockRateHit as HitCommand).apply(redis, args);
}

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
    this.hitCommand = hitCommandOf(redis);
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

const ANONYMOUS_WINDOW_MS = 60_000;
/** Addresses remembered as over the limit; a bound, so that many addresses cannot grow it forever. */
const MAX_BLOCKED_ADDRESSES = 10_000;

/** The address a request came from, as the socket saw it (a proxy in front must set trust). */
export const sourceAddress = (request: Request): string =>
  request.ip ?? request.socket.remoteAddress ?? 'unknown';

/**
 * The limit that applies before authentication: requests refused without valid credentials
 * (failed authentications, and input refused before credentials were checked) per source
 * address per minute, counted in Redis so every replica sees them. An address past the limit gets 429
 * from every replica that learnt it, before any token lookup or body parsing, until the minute
 * is over; authenticated requests never count. A flood therefore costs one Redis INCR per
 * refused request until the limit, then nothing but this in-memory check.
 */
@Injectable()
export class AnonymousRateLimit implements NestMiddleware {
  private readonly logger = new Logger(AnonymousRateLimit.name);
  private readonly hitCommand: HitCommand;
  /** Address → end of the window in which it went over the limit (epoch ms). */
  private readonly blocked = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(Redis) redis: Redis,
  ) {
    this.hitCommand = hitCommandOf(redis);
  }

  use(request: Request, response: Response, next: NextFunction): void {
    const limit = this.config.anonymousPerMinute;
    if (limit <= 0) return next();
    const address = sourceAddress(request);
    const until = this.blocked.get(address);
    if (until !== undefined) {
      if (until > Date.now()) return next(this.refusal(limit, until));
      this.blocked.delete(address);
    }
    response.once('finish', () => {
      // Refused without valid credentials: a failed authentication, or a request refused before
      // its credentials were checked (malformed input, no such route). Refusals of this limit
      // itself are not counted again.
      const status = response.statusCode;
      const anonymous = !(request as Request & { principal?: unknown }).principal;
      if (anonymous && status >= 400 && status < 500 && status !== HttpStatus.TOO_MANY_REQUESTS)
        void this.countFailure(address, limit);
    });
    next();
  }

  private async countFailure(address: string, limit: number): Promise<void> {
    const window = Math.floor(Date.now() / ANONYMOUS_WINDOW_MS);
    const key = `${this.config.queuePrefix}:ratelimit:${window}:anonymous:${address}`;
    try {
      const [count] = await this.hitCommand(1, key, ANONYMOUS_WINDOW_MS + 1_000);
      if (count >= limit) {
        if (this.blocked.size >= MAX_BLOCKED_ADDRESSES) this.blocked.clear();
        this.blocked.set(address, (window + 1) * ANONYMOUS_WINDOW_MS);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'rate limiter unavailable; failed authentication not counted');
    }
  }

  private refusal(limit: number, until: number): ProblemError {
    const retryAfterSeconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    return new ProblemError(
      HttpStatus.TOO_MANY_REQUESTS,
      'RATE_LIMITED',
      `too many failed authentications from this address; retry in ${retryAfterSeconds} s`,
      { scope: 'address', limit, retryAfterSeconds },
    );
  }
}
