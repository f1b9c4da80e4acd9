import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { gauge } from '../metrics/metrics.module';
import { BackendsRepository } from './backends.repository';

/** Per-backend capacity, usage, health and sync age, read from Postgres at scrape time. */
@Injectable()
export class BackendMetrics {
  constructor(registry: Registry, backends: BackendsRepository) {
    gauge(registry, {
      name: 'paddock_backend_capacity',
      help: 'Capacity of each backend, by resource (clusters, nodes).',
      labelNames: ['backend', 'resource'],
      async collect() {
        this.reset();
        for (const b of await backends.listAll()) {
          this.set({ backend: b.name, resource: 'clusters' }, b.maxClusters);
          this.set({ backend: b.name, resource: 'nodes' }, b.maxNodes);
        }
      },
    });
    gauge(registry, {
      name: 'paddock_backend_used',
      help: 'Clusters and nodes placed on each backend, reservations included.',
      labelNames: ['backend', 'resource'],
      async collect() {
        this.reset();
        for (const b of await backends.listAll()) {
          this.set({ backend: b.name, resource: 'clusters' }, b.clusters);
          this.set({ backend: b.name, resource: 'nodes' }, b.nodes);
        }
      },
    });
    gauge(registry, {
      name: 'paddock_backend_healthy',
      help: '1 when the last probes found the backend healthy, 0 otherwise.',
      labelNames: ['backend'],
      async collect() {
        this.reset();
        for (const b of await backends.listAll())
          this.set({ backend: b.name }, b.health === 'healthy' ? 1 : 0);
      },
    });
    gauge(registry, {
      name: 'paddock_backend_last_sync_timestamp_seconds',
      help: 'When the status sync last listed the backend successfully.',
      labelNames: ['backend'],
      async collect() {
        this.reset();
        for (const b of await backends.listAll()) {
          if (b.lastSyncAt) this.set({ backend: b.name }, b.lastSyncAt.getTime() / 1000);
        }
      },
    });
  }
}
