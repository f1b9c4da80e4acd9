import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module';
import { QuotaModule } from '../quota/quota.module';
import { RancherBackendsModule } from '../rancher-backends/rancher-backends.module';
import { ClustersRepository } from './clusters.repository';
import { OperationsRepository } from './operations.repository';
import { OutboxRelay } from './outbox-relay.service';

/** What both the API and the worker need: the cluster and operation tables and the outbox relay. */
@Module({
  imports: [ProjectsModule, QuotaModule, RancherBackendsModule],
  providers: [ClustersRepository, OperationsRepository, OutboxRelay],
  exports: [
    ClustersRepository,
    OperationsRepository,
    OutboxRelay,
    ProjectsModule,
    QuotaModule,
    RancherBackendsModule,
  ],
})
export class ClustersCoreModule {}
