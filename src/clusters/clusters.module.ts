import { Module } from '@nestjs/common';
import { ClusterMetricsRepository } from './cluster-metrics.repository';
import { ClusterMetrics } from './cluster-metrics.service';
import { ClusterChanges } from './cluster-changes.service';
import { ClusterCreation } from './cluster-creation.service';
import { ClusterLookup } from './cluster-lookup.service';
import { ClusterPreviewController } from './cluster-preview.controller';
import { ClusterReads } from './cluster-reads.service';
import { ClusterUpgrades } from './cluster-upgrades.service';
import { ClustersCoreModule } from './clusters-core.module';
import { ClustersController } from './clusters.controller';
import { OperationsController } from './operations.controller';
import { OperationWaiters } from './operation-waiters.service';
import { OperationsService } from './operations.service';
import { NodeReplacement } from './node-replacement.service';

/** The HTTP side of clusters: validation, the create transaction, changes, reads from Postgres. */
@Module({
  imports: [ClustersCoreModule],
  controllers: [ClusterPreviewController, ClustersController, OperationsController],
  providers: [
    ClusterCreation,
    ClusterChanges,
    NodeReplacement,
    ClusterReads,
    ClusterUpgrades,
    ClusterLookup,
    OperationsService,
    OperationWaiters,
    ClusterMetricsRepository,
    ClusterMetrics,
  ],
})
export class ClustersModule {}
