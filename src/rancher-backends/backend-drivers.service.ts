import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Registry } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import type { BackendDriver, BackendDriverSettings } from './backend-driver';
import { createBackendDriver } from './backend-driver.factory';
import type { Backend } from './backend.types';
import { BackendCallStats } from './backend-call-stats.service';
import type { RancherCallEvent, RancherCallObserver } from './rancher-client';
import { createRancherMetricsObserver } from './rancher-metrics';
import { TokenCipher } from './token-cipher';

type ClosableDriver = ReturnType<typeof createBackendDriver>;

/**
 * One driver (and so one HTTP client with its own limits and breaker) per backend, shared by
 * every job and sync in the process. A changed backend row (new URL or token) gets a new driver.
 */
@Injectable()
export class BackendDriversService implements OnApplicationShutdown {
  private readonly logger = new Logger('RancherClient');
  private readonly drivers = new Map<string, { version: number; driver: ClosableDriver }>();
  private readonly cipher: TokenCipher;
  private readonly observer: RancherCallObserver;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    registry: Registry,
    stats: BackendCallStats,
  ) {
    this.cipher = new TokenCipher(config.encryptionKey, config.previousEncryptionKeys);
    const metrics = createRancherMetricsObserver(registry);
    this.observer = {
      onCall: (event: RancherCallEvent) => {
        metrics.onCall(event);
        stats.onCall(event);
      },
    };
  }

  get tokenCipher(): TokenCipher {
    return this.cipher;
  }

  forBackend(backend: Backend): BackendDriver {
    const version = backend.updatedAt.getTime();
    const cached = this.drivers.get(backend.id);
    if (cached && cached.version === version) return cached.driver;
    cached?.driver.close();
    const driver = this.build(
      backend.name,
      backend.kind,
      backend.url,
      this.cipher.open(backend.tokenCiphertext),
      {
        flavors: backend.flavors,
        cloudCredential: backend.cloudCredential,
        kubernetesVersions: backend.kubernetesVersions,
      },
    );
    this.drivers.set(backend.id, { version, driver });
    return driver;
  }

  /** A driver outside the cache (verifying a backend before it is saved); the caller closes it. */
  build(
    name: string,
    kind: Backend['kind'],
    url: string,
    token: string,
    settings: BackendDriverSettings = { flavors: {} },
  ): ClosableDriver {
    return createBackendDriver(
      kind,
      { name, url, token },
      {
        timeoutMs: this.config.rancherTimeoutMs,
        pageSize: this.config.syncPageSize,
        observer: this.observer,
        logger: { warn: (obj, msg) => this.logger.warn({ ...obj, backend: name }, msg) },
      },
      settings,
    );
  }

  onApplicationShutdown(): void {
    for (const { driver } of this.drivers.values()) driver.close();
    this.drivers.clear();
  }
}
