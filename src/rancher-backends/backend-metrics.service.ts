import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { UnitOfWork } from '../database/unit-of-work';
import { gauge } from '../metrics/metrics.module';

interface Row {
  name: string;
  max_clusters: number;
  max_nodes: number;
  clusters_count: number;
  nodes_count: number;
  health: string;
  last_sync_at: Date | null;
}

/** Per-backend capacity, usage, health and sync age, read from Postgres at scrape time. */
@Injectable()
export class BackendMetrics {
  constructor(registry: Registry, uow: UnitOfWork) {
    const read = (): Promise<Row[]> =>
      uow.manager.query(
        `SELECT name, max_clusters, max_nodes, clusters_count, nodes_count, health, last_sync_at
         FROM backends WHERE deleted_at IS NULL`,
      );
    gauge(registry, {
      name: 'paddock_backend_capacity',
      help: 'Capacity of each backend, by resource (clusters, nodes).',
      labelNames: ['backend', 'resource'],
      async collect() {
        this.reset();
        for (const r of await read()) {
          this.set({ backend: r.name, resource: 'clusters' }, r.max_clusters);
          this.set({ backend: r.name, resource: 'nodes' }, r.max_nodes);
        }
      },
    });
    gauge(registry, {
      name: 'paddock_backend_used',
      help: 'Clusters and nodes placed on each backend, reservations included.',
      labelNames: ['backend', 'resource'],
      async collect() {
        this.reset();
        for (const r of await read()) {
          this.set({ backend: r.name, resource: 'clusters' }, r.clusters_count);
          this.set({ backend: r.name, resource: 'nodes' }, r.nodes_count);
        }
      },
    });
    gauge(registry, {
      name: 'paddock_backend_healthy',
      help: '1 when the last probes found the backend healthy, 0 otherwise.',
      labelNames: ['backend'],
      async collect() {
        this.reset();
        for (const r of await read()) this.set({ backend: r.name }, r.health === 'healthy' ? 1 : 0);
      },
    });
    gauge(registry, {
      name: 'paddock_backend_last_sync_timestamp_seconds',
      help: 'When the status sync last listed the backend successfully.',
      labelNames: ['backend'],
      async collect() {
        this.reset();
        for (const r of await read()) {
          if (r.last_sync_at) this.set({ backend: r.name }, r.last_sync_at.getTime() / 1000);
        }
      },
    });
  }
}
