import { Module } from '@nestjs/common';
import { BackupsCoreModule } from '../backups/backups-core.module';
import { OperationsRepository } from '../operations/operations.repository';
import { NodeRegistrationsCoreModule } from '../node-registrations/node-registrations-core.module';
import { OutboxModule } from '../outbox/outbox.module';
import { ProjectsModule } from '../projects/projects.module';
import { QuotaModule } from '../quota/quota.module';
import { RancherBackendsModule } from '../rancher-backends/rancher-backends.module';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { ClusterDeletion } from './cluster-deletion.service';
import { ClustersRepository } from './clusters.repository';
import { NodesRepository } from './nodes.repository';

/** What both the API and the worker need: the cluster and operation tables, the outbox, recording operations. */
@Module({
  imports: [
    ProjectsModule,
    QuotaModule,
    RancherBackendsModule,
    OutboxModule,
    BackupsCoreModule,
    NodeRegistrationsCoreModule,
  ],
  providers: [ClustersRepository, NodesRepository, OperationsRepository, OperationRecorder, ClusterDeletion],
  exports: [
    BackupsCoreModule,
    ClustersRepository,
    NodesRepository,
    OperationsRepository,
    OperationRecorder,
    ClusterDeletion,
    NodeRegistrationsCoreModule,
    OutboxModule,
    ProjectsModule,
    QuotaModule,
    RancherBackendsModule,
  ],
})
export class ClustersCoreModule {}
