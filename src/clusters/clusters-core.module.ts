import { Module } from '@nestjs/common';
import { BackupsCoreModule } from '../backups/backups-core.module';
import { OperationsRepository } from '../operations/operations.repository';
import { OutboxModule } from '../outbox/outbox.module';
import { ProjectsModule } from '../projects/projects.module';
import { QuotaModule } from '../quota/quota.module';
import { RancherBackendsModule } from '../rancher-backends/rancher-backends.module';
import { ClustersRepository } from './clusters.repository';

/** What both the API and the worker need: the cluster and operation tables and the outbox. */
@Module({
  imports: [ProjectsModule, QuotaModule, RancherBackendsModule, OutboxModule, BackupsCoreModule],
  providers: [ClustersRepository, OperationsRepository],
  exports: [
    BackupsCoreModule,
    ClustersRepository,
    OperationsRepository,
    OutboxModule,
    ProjectsModule,
    QuotaModule,
    RancherBackendsModule,
  ],
})
export class ClustersCoreModule {}
