import { Module } from '@nestjs/common';
import { AddonsCoreModule } from '../addons/addons-core.module';
import { IdempotencyKeysRepository } from '../common/idempotency-keys.repository';
import { MaintenanceProcessor } from '../operations/maintenance.processor';
import { OperationRunner } from '../operations/operation-runner.service';
import { OperationsProcessor } from '../operations/operations.processor';
import { StepRegistry } from '../operations/step-registry';
import { Sweeper } from '../operations/sweeper.service';
import { AuditRepository } from '../audit/audit.repository';
import { NodeRegistrationExpiry } from '../node-registrations/node-registration-expiry.service';
import { ClusterExpiry } from './cluster-expiry.service';
import { CLUSTER_STEP_HANDLERS } from './cluster-operations';
import { ClustersCoreModule } from './clusters-core.module';
import { OperationOutcomes } from './operation-outcomes.service';
import { StatusSyncProcessor } from './status-sync.processor';
import { StatusSyncRepository } from './status-sync.repository';
import { StatusSyncService } from './status-sync.service';

/**
 * The worker side: the operation runner with every declared step handler, the status sync, and
 * the cluster-wide maintenance (sweeper, outbox catch-up, the expiry of clusters).
 */
@Module({
  imports: [ClustersCoreModule, AddonsCoreModule],
  providers: [
    ...CLUSTER_STEP_HANDLERS,
    StepRegistry,
    OperationOutcomes,
    OperationRunner,
    OperationsProcessor,
    StatusSyncRepository,
    StatusSyncService,
    StatusSyncProcessor,
    Sweeper,
    IdempotencyKeysRepository,
    MaintenanceProcessor,
    ClusterExpiry,
    NodeRegistrationExpiry,
    AuditRepository,
  ],
  exports: [StatusSyncService, Sweeper],
})
export class ClustersWorkerModule {}
