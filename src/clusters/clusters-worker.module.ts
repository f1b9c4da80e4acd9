import { Module } from '@nestjs/common';
import { ClustersCoreModule } from './clusters-core.module';
import { OperationRunner } from './operation-runner.service';
import { OperationsProcessor } from './operations.processor';
import { StatusSyncProcessor } from './status-sync.processor';
import { StatusSyncRepository } from './status-sync.repository';
import { StatusSyncService } from './status-sync.service';
import { Sweeper } from './sweeper.service';

/** The worker side: operation steps, the status sync, and the sweeper that rebuilds the queue. */
@Module({
  imports: [ClustersCoreModule],
  providers: [
    OperationRunner,
    OperationsProcessor,
    StatusSyncRepository,
    StatusSyncService,
    StatusSyncProcessor,
    Sweeper,
  ],
  exports: [StatusSyncService, Sweeper],
})
export class ClustersWorkerModule {}
