import { Module } from '@nestjs/common';
import { AddonDelivery } from './addon-delivery.service';
import { AddonSync } from './addon-sync.service';
import { AddonsRepository } from './addons.repository';
import { ChartIndex } from './chart-index';
import { ClusterAddonsRepository } from './cluster-addons.repository';

/**
 * What both the API and the worker need of addons: their tables, the charts' repositories,
 * writing a Fleet object, the sync pass.
 */
@Module({
  providers: [AddonsRepository, ClusterAddonsRepository, ChartIndex, AddonDelivery, AddonSync],
  exports: [AddonsRepository, ClusterAddonsRepository, ChartIndex, AddonDelivery, AddonSync],
})
export class AddonsCoreModule {}
