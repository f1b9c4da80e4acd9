import { Injectable, Logger } from '@nestjs/common';
import { isBackendError } from './backend.errors';
import { BackendDriversService } from './backend-drivers.service';
import { BackendsRepository } from './backends.repository';

/**
 * Probes a backend (ping, version, token) and records the outcome. A success makes it healthy at
 * once; two failures in a row take it out of placement. The probe goes through the backend's own
 * driver, so an open circuit breaker counts as a failed probe without another call.
 */
@Injectable()
export class BackendHealthService {
  private readonly logger = new Logger(BackendHealthService.name);

  constructor(
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  async probe(backendId: string): Promise<'healthy' | 'unhealthy' | 'failing' | 'gone'> {
    const backend = await this.backends.findById(backendId);
    if (!backend) return 'gone';
    let driver: ReturnType<BackendDriversService['forBackend']>;
    try {
      driver = this.drivers.forBackend(backend);
    } catch (error) {
      // The stored token cannot be opened (sealed under a key this process does not have): the
      // backend is unusable, so it fails its probes like a dead one and leaves placement.
      return this.recordFailure(backend, `token cannot be opened: ${(error as Error).message}`);
    }
    try {
      const probe = await driver.probe();
      if (backend.health !== 'healthy') this.logger.log(`backend ${backend.name} is healthy again`);
      await this.backends.recordProbeSuccess(backend.id, probe.version, probe.kubernetesVersions);
      return 'healthy';
    } catch (error) {
      if (!isBackendError(error)) throw error;
      return this.recordFailure(backend, `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}`);
    }
  }

  private async recordFailure(
    backend: { id: string; name: string; health: string },
    reason: string,
  ): Promise<'unhealthy' | 'failing'> {
    const health = await this.backends.recordProbeFailure(backend.id, reason);
    if (health === 'unhealthy' && backend.health !== 'unhealthy') {
      this.logger.warn(
        { backend: backend.name, reason },
        `backend ${backend.name} is unhealthy: out of placement`,
      );
    }
    return health === 'unhealthy' ? 'unhealthy' : 'failing';
  }
}
