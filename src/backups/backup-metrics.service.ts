import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { gauge } from '../metrics/metrics.module';
import { BackupsRepository } from './backups.repository';

/**
 * Gauges read at scrape time from Postgres, so "no good backup for two intervals" can alert:
 * `paddock_backup_newest_age_seconds > 2 * paddock_backup_interval_seconds`. A cluster that never
 * had a good backup counts from its creation: its lack of backup is as old as it is.
 */
@Injectable()
export class BackupMetrics {
  constructor(registry: Registry, backups: BackupsRepository) {
    gauge(registry, {
      name: 'paddock_backup_newest_age_seconds',
      help: "Age of each cluster's newest active etcd backup (since its creation while it has none).",
      labelNames: ['project', 'cluster'],
      async collect() {
        const rows = await backups.newestGoodBackups();
        const now = Date.now();
        this.reset();
        for (const r of rows) {
          const age = (now - (r.newestAt ?? r.createdAt).getTime()) / 1000;
          this.set({ project: r.project, cluster: r.cluster }, Math.max(0, age));
        }
      },
    });
    gauge(registry, {
      name: 'paddock_backup_interval_seconds',
      help: "Each cluster's recurring backup interval.",
      labelNames: ['project', 'cluster'],
      async collect() {
        const rows = await backups.schedules();
        this.reset();
        for (const r of rows) this.set({ project: r.project, cluster: r.cluster }, r.intervalHours * 3600);
      },
    });
  }
}
