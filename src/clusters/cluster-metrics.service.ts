import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { gauge } from '../metrics/metrics.module';
import { QUEUES } from '../queue/queues';
import { ClusterMetricsRepository } from './cluster-metrics.repository';

/** Gauges read at scrape time: clusters by state (from Postgres) and queue depth (from Redis). */
@Injectable()
export class ClusterMetrics {
  constructor(
    registry: Registry,
    clusters: ClusterMetricsRepository,
    @InjectQueue(QUEUES.operations) operations: Queue,
    @InjectQueue(QUEUES.statusSync) statusSync: Queue,
  ) {
    gauge(registry, {
      name: 'paddock_clusters',
      help: 'Clusters by state.',
      labelNames: ['state'],
      async collect() {
        const counts = await clusters.countByState();
        this.reset();
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    gauge(registry, {
      name: 'paddock_queue_jobs',
      help: 'Jobs in each queue by state.',
      labelNames: ['queue', 'state'],
      async collect() {
        this.reset();
        for (const queue of [operations, statusSync]) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
          for (const [state, n] of Object.entries(counts)) this.set({ queue: queue.name, state }, n);
        }
      },
    });
  }
}
