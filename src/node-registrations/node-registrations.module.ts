import { Module } from '@nestjs/common';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import { ClustersCoreModule } from '../clusters/clusters-core.module';
import { NodeRegistrationsController } from './node-registrations.controller';
import { NodeRegistrationsService } from './node-registrations.service';
import { RegisteredNodes } from './registered-nodes.service';

/** The HTTP side of teams' own servers: registrations and the removal of registered nodes. */
@Module({
  imports: [ClustersCoreModule],
  controllers: [NodeRegistrationsController],
  providers: [NodeRegistrationsService, RegisteredNodes, ClusterLookup, ClusterReads],
  exports: [RegisteredNodes],
})
export class NodeRegistrationsModule {}
