import { Module } from '@nestjs/common';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClustersCoreModule } from '../clusters/clusters-core.module';
import { NodeRegistrationsController } from './node-registrations.controller';
import { NodeRegistrationsService } from './node-registrations.service';

/**
 * The HTTP side of teams' own servers: their registrations. Removing a registered node is
 * `DELETE …/nodes/{node}` (clusters' node-replacement.service.ts), an operation `remove-node`.
 */
@Module({
  imports: [ClustersCoreModule],
  controllers: [NodeRegistrationsController],
  providers: [NodeRegistrationsService, ClusterLookup],
})
export class NodeRegistrationsModule {}
