import { Module } from '@nestjs/common';
import { ClusterMetrics } from './cluster-metrics.service';
import { ClustersCoreModule } from './clusters-core.module';
import { ClusterPlansController } from './cluster-plans.controller';
import { ClustersController } from './clusters.controller';
import { ClustersService } from './clusters.service';
import { OperationsController } from './operations.controller';
import { OperationWaiters } from './operation-waiters.service';
import { OperationsService } from './operations.service';

/** The HTTP side of clusters: validation, the create transaction, reads from Postgres. */
@Module({
  imports: [ClustersCoreModule],
  controllers: [ClusterPlansController, ClustersController, OperationsController],
  providers: [ClustersService, OperationsService, OperationWaiters, ClusterMetrics],
})
export class ClustersModule {}
