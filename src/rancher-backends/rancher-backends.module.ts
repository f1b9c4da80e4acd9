import { Module } from '@nestjs/common';
import { AdminBackendsController } from './admin-backends.controller';
import { BackendDriversService } from './backend-drivers.service';
import { BackendsRepository } from './backends.repository';
import { BackendsService } from './backends.service';
import { PlacementService } from './placement.service';

/** The backend registry, placement, and one Rancher driver per backend. */
@Module({
  controllers: [AdminBackendsController],
  providers: [BackendsRepository, BackendsService, BackendDriversService, PlacementService],
  exports: [BackendsRepository, BackendsService, BackendDriversService, PlacementService],
})
export class RancherBackendsModule {}
