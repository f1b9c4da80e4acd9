import { Module } from '@nestjs/common';
import { BackendHealthService } from './backend-health.service';
import { BackendProbeProcessor } from './backend-probe.processor';
import { RancherBackendsModule } from './rancher-backends.module';

/** The worker side of backends: periodic health probes. */
@Module({
  imports: [RancherBackendsModule],
  providers: [BackendHealthService, BackendProbeProcessor],
  exports: [BackendHealthService],
})
export class RancherBackendsWorkerModule {}
