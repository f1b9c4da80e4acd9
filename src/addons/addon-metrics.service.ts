import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { gauge } from '../metrics/metrics.module';
import { ClusterAddonsRepository } from './cluster-addons.repository';

/**
 * Gauges read at scrape time from Postgres (what the status sync last saw), so every replica
 * answers the same and an alert can name the cluster: `paddock_addon_not_ready` exists only
 * while an addon a cluster should have is not installed there.
 */
@Injectable()
export class AddonMetrics {
  constructor(registry: Registry, clusterAddons: ClusterAddonsRepository) {
    gauge(registry, {
      name: 'paddock_addon_installs',
      help: 'Clusters per addon, version and state (pending, installing, installed, upgrading, failed, uninstalling).',
      labelNames: ['addon', 'version', 'state'],
      async collect() {
        const rows = await clusterAddons.installCounts();
        this.reset();
        for (const r of rows) this.set({ addon: r.addon, version: r.version, state: r.state }, r.count);
      },
    });
    gauge(registry, {
      name: 'paddock_addon_not_ready',
      help: 'Present (1) for each cluster where an addon it should have is not installed.',
      labelNames: ['project', 'cluster', 'addon'],
      async collect() {
        const rows = await clusterAddons.notReady();
        this.reset();
        for (const r of rows) this.set({ project: r.project, cluster: r.cluster, addon: r.addon }, 1);
      },
    });
  }
}
