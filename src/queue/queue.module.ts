import { BullModule } from '@nestjs/bullmq';
import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { QUEUES } from './queues';

/** `redis://[:password@]host:port[/db]` → ioredis options (the `/N` database isolates runs). */
export function redisOptions(url: string): RedisOptions {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    // BullMQ workers block on Redis; they must not give up on a slow command.
    maxRetriesPerRequest: null,
    connectTimeout: 5_000,
  };
}

/** The queues, and one plain Redis client for locks and readiness checks. */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        connection: { url: config.redisUrl, maxRetriesPerRequest: null, connectTimeout: 5_000 },
        prefix: config.queuePrefix,
      }),
    }),
    BullModule.registerQueue(
      { name: QUEUES.operations },
      { name: QUEUES.statusSync },
      { name: QUEUES.backendProbes },
      { name: QUEUES.maintenance },
      { name: QUEUES.quotaReconcile },
    ),
  ],
  providers: [
    {
      provide: Redis,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new Redis({ ...redisOptions(config.redisUrl), maxRetriesPerRequest: 2 }),
    },
  ],
  exports: [BullModule, Redis],
})
export class QueueModule implements OnApplicationShutdown {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
