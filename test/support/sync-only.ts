/**
 * Just the status sync, without the worker's processors, for tests that measure one cycle by
 * hand: a scheduled cycle (or its jitter sleep, which a shutdown would wait for) cannot get in
 * the way of the cycle measured.
 */
import { DynamicModule, INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AddonsCoreModule } from '../../src/addons/addons-core.module';
import { ClustersCoreModule } from '../../src/clusters/clusters-core.module';
import { StatusSyncRepository } from '../../src/clusters/status-sync.repository';
import { StatusSyncService } from '../../src/clusters/status-sync.service';
import { LoggingModule } from '../../src/common/logging.module';
import { AppConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { DatabaseModule } from '../../src/database/database.module';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { QueueModule } from '../../src/queue/queue.module';

@Module({})
class SyncOnlyModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: SyncOnlyModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule,
        MetricsModule,
        DatabaseModule,
        QueueModule,
        ClustersCoreModule,
        AddonsCoreModule,
      ],
      providers: [StatusSyncRepository, StatusSyncService],
    };
  }
}

/** A worker-role context holding only the status sync, on `config`'s database; close it after. */
export async function startSyncOnly(
  config: AppConfig,
): Promise<{ context: INestApplicationContext; sync: StatusSyncService }> {
  const context = await NestFactory.createApplicationContext(
    SyncOnlyModule.forRoot({ ...config, role: 'worker' }),
    // Without a logger, Nest's default (exit the process on a bootstrap error) would exit silently.
    { logger: false, abortOnError: false },
  );
  await context.init();
  return { context, sync: context.get(StatusSyncService) };
}
