import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { BackendErrorKind } from './backend.errors';
import type { RancherCallEvent, RancherCallObserver } from './rancher-client';

/** Failures that say the backend is in trouble (a 404 or a 422 is an answer, not a fault). */
const FAULT_KINDS = new Set<BackendErrorKind>([
  'server',
  'unavailable',
  'timeout',
  'network',
  'circuit-open',
  'rate-limited',
  'unauthorized',
  'unexpected-response',
]);
const WINDOW_MINUTES = 5;
const FLUSH_MS = 2_000;

export interface CallStats {
  calls: number;
  errors: number;
  /** errors / calls over the window, 0 when there were no calls. */
  errorRate: number;
}

/**
 * Rancher call counts per backend and minute, shared by every process through Redis (each
 * process buffers and flushes with one pipeline every two seconds), so the admin overview shows
 * one error rate whatever replica answers it. Losing Redis loses only these statistics.
 */
@Injectable()
export class BackendCallStats implements RancherCallObserver, OnModuleInit, OnApplicationShutdown {
  private buffer = new Map<string, { calls: number; errors: number }>();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(Redis) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // A timer of this process, not a BullMQ job scheduler: what it flushes is this process's own
    // in-memory buffer, so every process must flush its own, whichever worker a job would reach.
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  onCall(event: RancherCallEvent): void {
    const key = this.key(event.backend, Math.floor(Date.now() / 60_000));
    const entry = this.buffer.get(key) ?? { calls: 0, errors: 0 };
    entry.calls += 1;
    if (event.errorKind && FAULT_KINDS.has(event.errorKind)) entry.errors += 1;
    this.buffer.set(key, entry);
  }

  async read(backend: string): Promise<CallStats> {
    const minute = Math.floor(Date.now() / 60_000);
    const pipeline = this.redis.pipeline();
    for (let i = 0; i < WINDOW_MINUTES; i++) pipeline.hgetall(this.key(backend, minute - i));
    const results = (await pipeline.exec()) ?? [];
    let calls = 0;
    let errors = 0;
    for (const [, value] of results) {
      const hash = (value ?? {}) as Record<string, string>;
      calls += Number(hash.calls ?? 0);
      errors += Number(hash.errors ?? 0);
    }
    return { calls, errors, errorRate: calls > 0 ? Math.round((errors / calls) * 10_000) / 10_000 : 0 };
  }

  private key(backend: string, minute: number): string {
    return `${this.config.queuePrefix}:backend-calls:${backend}:${minute}`;
  }

  private async flush(): Promise<void> {
    if (this.buffer.size === 0) return;
    const entries = [...this.buffer];
    this.buffer = new Map();
    const pipeline = this.redis.pipeline();
    for (const [key, { calls, errors }] of entries) {
      pipeline
        .hincrby(key, 'calls', calls)
        .hincrby(key, 'errors', errors)
        .expire(key, (WINDOW_MINUTES + 2) * 60);
    }
    await pipeline.exec().catch(() => undefined);
  }
}
