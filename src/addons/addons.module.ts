import { Module } from '@nestjs/common';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import { ClustersCoreModule } from '../clusters/clusters-core.module';
import { AddonMetrics } from './addon-metrics.service';
import { AddonsCoreModule } from './addons-core.module';
import { AdminAddonsController, ClusterAddonsController } from './addons.controller';
import { AddonsService } from './addons.service';
import { ClusterAddonsService } from './cluster-addons.service';

/** The HTTP side of addons: the catalog and its rollouts (admins), a cluster's addons (its owners). */
@Module({
  imports: [ClustersCoreModule, AddonsCoreModule],
  controllers: [AdminAddonsController, ClusterAddonsController],
  providers: [AddonsService, ClusterAddonsService, AddonMetrics, ClusterLookup, ClusterReads],
})
export class AddonsModule {}
