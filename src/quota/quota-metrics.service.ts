import { Injectable } from '@nestjs/common';
import { Registry } from 'prom-client';
import { gauge } from '../metrics/metrics.module';
import { QUOTA_RESOURCES, QuotaCounters, QuotaRecord, QuotaRepository } from './quota.repository';

/** `paddock_quota_{limit,used,reserved}{project,resource}`, read from Postgres at scrape time. */
@Injectable()
export class QuotaMetrics {
  constructor(registry: Registry, quotas: QuotaRepository) {
    // The three gauges are scraped one after the other: one query serves all three.
    let snapshot: { at: number; rows: Promise<QuotaRecord[]> } | null = null;
    const rows = () => {
      if (!snapshot || Date.now() - snapshot.at > 1_000)
        snapshot = { at: Date.now(), rows: quotas.listAll() };
      return snapshot.rows;
    };
    for (const field of ['limit', 'used', 'reserved'] as Array<keyof QuotaCounters>) {
      gauge(registry, {
        name: `paddock_quota_${field}`,
        help: `Quota ${field} per project and resource (clusters, nodes).`,
        labelNames: ['project', 'resource'],
        async collect() {
          const all = await rows();
          this.reset();
          for (const q of all)
            for (const resource of QUOTA_RESOURCES)
              this.set({ project: q.projectName, resource }, q[resource][field]);
        },
      });
    }
  }
}
