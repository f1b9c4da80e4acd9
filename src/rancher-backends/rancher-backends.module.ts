import { Module } from '@nestjs/common';
import { AdminBackendsController } from './admin-backends.controller';
import { BackendCallStats } from './backend-call-stats.service';
import { BackendDriversService } from './backend-drivers.service';
import { BackendMetrics } from './backend-metrics.service';
import { BackendsRepository } from './backends.repository';
import { BackendsService } from './backends.service';
import { KubernetesVersionsController } from './kubernetes-versions.controller';
import { KubernetesVersionsService } from './kubernetes-versions.service';
import { PlacementService } from './placement.service';

/** The backend registry, placement, and one Rancher driver per backend. */
@Module({
  controllers: [AdminBackendsController, KubernetesVersionsController],
  providers: [
    BackendsRepository,
    BackendsService,
    BackendDriversService,
    BackendCallStats,
    BackendMetrics,
    PlacementService,
    KubernetesVersionsService,
  ],
  exports: [BackendsRepository, BackendsService, BackendDriversService, BackendCallStats, PlacementService],
})
export class RancherBackendsModule {}
