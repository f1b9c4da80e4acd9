import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { UnitOfWork } from '../database/unit-of-work';
import { gauge } from '../metrics/metrics.module';
import { QUEUES } from '../queue/queues';

/** Gauges read at scrape time: clusters by state (from Postgres) and queue depth (from Redis). */
@Injectable()
export class ClusterMetrics {
  constructor(
    registry: Registry,
    uow: UnitOfWork,
    @InjectQueue(QUEUES.operations) operations: Queue,
    @InjectQueue(QUEUES.statusSync) statusSync: Queue,
  ) {
    gauge(registry, {
      name: 'paddock_clusters',
      help: 'Clusters by state.',
      labelNames: ['state'],
      async collect() {
        const rows: Array<{ state: string; n: string }> = await uow.manager.query(
          `SELECT state, count(*) AS n FROM clusters GROUP BY state`,
        );
        this.reset();
        for (const row of rows) this.set({ state: row.state }, Number(row.n));
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
