import { Module } from '@nestjs/common';
import { AddonDelivery } from './addon-delivery.service';
import { AddonSync } from './addon-sync.service';
import { AddonsRepository } from './addons.repository';

/** What both the API and the worker need of addons: their tables, writing a Fleet object, the sync pass. */
@Module({
  providers: [AddonsRepository, AddonDelivery, AddonSync],
  exports: [AddonsRepository, AddonDelivery, AddonSync],
})
export class AddonsCoreModule {}
