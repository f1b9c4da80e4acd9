import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

/** The aggregate reads behind the cluster gauges (scrape time only; nothing here is per request). */
@Injectable()
export class ClusterMetricsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** How many clusters are in each state, deleted and failed ones included. */
  async countByState(): Promise<Map<string, number>> {
    const rows: Array<{ state: string; n: number }> = await this.uow.manager.query(
      `SELECT state, count(*)::int AS n FROM clusters GROUP BY state`,
    );
    return new Map(rows.map((r) => [r.state, r.n]));
  }
}
