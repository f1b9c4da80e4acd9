import { Module } from '@nestjs/common';
import { OperationsRepository } from '../operations/operations.repository';
import { OutboxModule } from '../outbox/outbox.module';
import { ProjectsModule } from '../projects/projects.module';
import { QuotaModule } from '../quota/quota.module';
import { RancherBackendsModule } from '../rancher-backends/rancher-backends.module';
import { ClustersRepository } from './clusters.repository';

/** What both the API and the worker need: the cluster and operation tables and the outbox. */
@Module({
  imports: [ProjectsModule, QuotaModule, RancherBackendsModule, OutboxModule],
  providers: [ClustersRepository, OperationsRepository],
  exports: [
    ClustersRepository,
    OperationsRepository,
    OutboxModule,
    ProjectsModule,
    QuotaModule,
    RancherBackendsModule,
  ],
})
export class ClustersCoreModule {}
