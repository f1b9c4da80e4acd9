import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AddonsModule } from './addons/addons.module';
import { AuditModule } from './audit/audit.module';
import { BackupsModule } from './backups/backups.module';
import { AuthGuard } from './common/auth.guard';
import { IdempotencyKeysRepository } from './common/idempotency-keys.repository';
import { IdempotencyInterceptor } from './common/idempotency.interceptor';
import { InputGuard } from './common/input.guard';
import { AnonymousRateLimit } from './common/rate-limiter';
import { LoggingModule } from './common/logging.module';
import { ProblemDetailsFilter } from './common/problem-details.filter';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { ClustersModule } from './clusters/clusters.module';
import { ClustersWorkerModule } from './clusters/clusters-worker.module';
import { DatabaseModule } from './database/database.module';
import { KubeAccessModule } from './kube-access/kube-access.module';
import { HealthModule } from './health/health.module';
import { HttpMetricsInterceptor } from './metrics/http-metrics.interceptor';
import { MetricsHttpModule, MetricsModule } from './metrics/metrics.module';
import { NodeRegistrationsModule } from './node-registrations/node-registrations.module';
import { ProjectsModule } from './projects/projects.module';
import { QueueModule } from './queue/queue.module';
import { QueueDashboardModule } from './queue/queue-dashboard.module';
import { QuotaApiModule, QuotaWorkerModule } from './quota/quota.module';
import { RancherBackendsModule } from './rancher-backends/rancher-backends.module';
import { RancherBackendsWorkerModule } from './rancher-backends/rancher-backends-worker.module';

const infrastructure = (config: AppConfig) => [
  ConfigModule.forRoot(config),
  LoggingModule,
  MetricsModule,
  DatabaseModule,
  QueueModule,
];

/** The HTTP API. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ...infrastructure(config),
        MetricsHttpModule,
        ProjectsModule,
        QuotaApiModule,
        AuditModule,
        RancherBackendsModule,
        ClustersModule,
        BackupsModule,
        NodeRegistrationsModule,
        AddonsModule,
        KubeAccessModule,
        HealthModule,
        QueueDashboardModule,
      ],
      providers: [
        IdempotencyKeysRepository,
        AnonymousRateLimit,
        // Guards run in this order: input is checked before any credential is looked up.
        { provide: APP_GUARD, useClass: InputGuard },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}

/** The queue worker: operation steps, status sync, sweeper. No HTTP server. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ...infrastructure(config),
        ClustersWorkerModule,
        RancherBackendsWorkerModule,
        QuotaWorkerModule,
      ],
    };
  }
}
