import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { gauge, Sample, scraped } from '../metrics/metrics.module';
import { OPERATION_TYPES } from '../operations/operation.types';
import { QUEUES } from '../queue/queues';
import {
  ClusterMetricsRepository,
  DurationBucket,
  OPERATION_DURATION_BUCKETS,
} from './cluster-metrics.repository';

/**
 * Gauges read at scrape time: clusters by state, the health of each cluster and node, what is
 * provisioning and for how long, operations in flight and their durations (all from Postgres, so
 * every replica answers the same), and queue depth (from Redis).
 *
 * Cardinality is bounded by construction: a health series exists only while a condition is
 * unhealthy or an object is provisioning, its labels are the names users chose (project, cluster,
 * node hostname; each bounded by the project's quota) and a condition name from the backend's
 * fixed vocabulary; operation series are per type and outcome only.
 */
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
      name: 'paddock_clusters_expiring_soon',
      help: 'Live clusters per project that expire (and will be deleted) within the next hour.',
      labelNames: ['project'],
      async collect() {
        const counts = await clusters.expiringWithin(3600);
        this.reset();
        for (const [project, n] of counts) this.set({ project }, n);
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
    scraped(registry, {
      name: 'paddock_cluster_condition_not_true',
      help: '1 per cluster condition that is not healthy at the last sync (absent while healthy).',
      type: 'gauge',
      collect: async () =>
        (await clusters.unhealthyClusterConditions()).map(({ project, cluster, condition }) => ({
          value: 1,
          labels: { project, cluster, condition },
        })),
    });
    scraped(registry, {
      name: 'paddock_node_condition_not_true',
      help:
        '1 per node condition that is not healthy at the last sync (absent while healthy): the ' +
        "kubelet's Ready, Rancher's own node conditions and, on rke2, the CAPI machine's.",
      type: 'gauge',
      collect: async () =>
        (await clusters.unhealthyNodeConditions()).map(({ project, cluster, node, condition }) => ({
          value: 1,
          labels: { project, cluster, node: node ?? '', condition },
        })),
    });
    scraped(registry, {
      name: 'paddock_cluster_provisioning_seconds',
      help: 'Seconds since the create of a cluster that is still provisioning.',
      type: 'gauge',
      collect: async () =>
        (await clusters.provisioningClusters()).map(({ project, cluster, seconds }) => ({
          value: Math.round(seconds),
          labels: { project, cluster },
        })),
    });
    scraped(registry, {
      name: 'paddock_cluster_updating_seconds',
      help:
        'Seconds a cluster has been updating (update, upgrade or restore under way); its Updated and ' +
        'Provisioned conditions are transitional meanwhile.',
      type: 'gauge',
      collect: async () =>
        (await clusters.updatingClusters()).map(({ project, cluster, seconds }) => ({
          value: Math.round(seconds),
          labels: { project, cluster },
        })),
    });
    scraped(registry, {
      name: 'paddock_node_provisioning_seconds',
      help: 'Seconds since the status sync first saw a node that has not registered with Kubernetes yet.',
      type: 'gauge',
      collect: async () =>
        (await clusters.provisioningNodes()).map(({ project, cluster, node, seconds }) => ({
          value: Math.round(seconds),
          labels: { project, cluster, node: node ?? '' },
        })),
    });
    // Both in-flight gauges come from one query: they are scraped one after the other.
    let inFlight: { at: number; rows: ReturnType<ClusterMetricsRepository['inFlightByType']> } | null = null;
    const inFlightRows = () => {
      if (!inFlight || Date.now() - inFlight.at > 1_000)
        inFlight = { at: Date.now(), rows: clusters.inFlightByType() };
      return inFlight.rows;
    };
    scraped(registry, {
      name: 'paddock_operations_in_flight',
      help: 'Operations pending or running, by type.',
      type: 'gauge',
      collect: async () => {
        const rows = await inFlightRows();
        return OPERATION_TYPES.map((type) => ({ value: rows.get(type)?.count ?? 0, labels: { type } }));
      },
    });
    scraped(registry, {
      name: 'paddock_operation_oldest_in_flight_seconds',
      help: 'Age of the oldest pending or running operation, by type (0 when there is none).',
      type: 'gauge',
      collect: async () => {
        const rows = await inFlightRows();
        return OPERATION_TYPES.map((type) => ({
          value: Math.round(rows.get(type)?.oldestSeconds ?? 0),
          labels: { type },
        }));
      },
    });
    scraped(registry, {
      name: 'paddock_operation_duration_seconds',
      help: 'Time from accepting an operation to its final state, by type and outcome.',
      type: 'histogram',
      collect: async () =>
        histogramSamples('paddock_operation_duration_seconds', await clusters.operationDurations()),
    });
  }
}

/** Cumulative `_bucket`, `_sum` and `_count` samples from per-bucket rows. */
export function histogramSamples(name: string, rows: DurationBucket[]): Sample[] {
  const series = new Map<string, { type: string; outcome: string; rows: DurationBucket[] }>();
  for (const row of rows) {
    const key = `${row.type}\u0000${row.outcome}`;
    const entry = series.get(key) ?? { type: row.type, outcome: row.outcome, rows: [] };
    entry.rows.push(row);
    series.set(key, entry);
  }
  const samples: Sample[] = [];
  for (const { type, outcome, rows: own } of series.values()) {
    let sum = 0;
    for (const r of own) sum += r.sumSeconds;
    for (const bound of [...OPERATION_DURATION_BUCKETS, Infinity]) {
      const count = own.filter((r) => r.le <= bound).reduce((n, r) => n + r.observations, 0);
      samples.push({
        metricName: `${name}_bucket`,
        value: count,
        labels: { type, outcome, le: bound === Infinity ? '+Inf' : bound },
      });
    }
    samples.push({ metricName: `${name}_sum`, value: sum, labels: { type, outcome } });
    samples.push({
      metricName: `${name}_count`,
      value: own.reduce((n, r) => n + r.observations, 0),
      labels: { type, outcome },
    });
  }
  return samples;
}
