import { Module } from '@nestjs/common';
import { AdminQuotaController } from './admin-quota.controller';
import { QuotaController } from './quota.controller';
import { QuotaMetrics } from './quota-metrics.service';
import { QuotaReconciler, QuotaReconcileProcessor } from './quota-reconciler.service';
import { QuotaRepository } from './quota.repository';
import { QuotaService } from './quota.service';

/** Limits, usage and reservations: what both the API and the worker need. */
@Module({
  providers: [QuotaRepository, QuotaService, QuotaReconciler],
  exports: [QuotaRepository, QuotaService, QuotaReconciler],
})
export class QuotaModule {}

/** The HTTP side: member and SRE endpoints, and the gauges. */
@Module({
  imports: [QuotaModule],
  controllers: [QuotaController, AdminQuotaController],
  providers: [QuotaMetrics],
})
export class QuotaApiModule {}

/** The worker side: the periodic reconcile pass. */
@Module({
  imports: [QuotaModule],
  providers: [QuotaReconcileProcessor],
})
export class QuotaWorkerModule {}
