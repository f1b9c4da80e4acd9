import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

/**
 * Upper bounds (seconds) of the operation duration buckets. The trigger that fills
 * `operation_durations` (migration 1764700200000) sorts each finished operation into the same
 * bounds; change both together.
 */
export const OPERATION_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600];

export interface UnhealthyCondition {
  project: string;
  cluster: string;
  /** Set for node conditions. */
  node?: string;
  condition: string;
}

export interface Provisioning {
  project: string;
  cluster: string;
  node?: string;
  seconds: number;
}

export interface DurationBucket {
  type: string;
  outcome: string;
  /** Upper bound in seconds; Infinity for the last bucket. */
  le: number;
  observations: number;
  sumSeconds: number;
}

/**
 * Clusters that count in the health gauges: those that exist or are being made. A cluster being
 * deleted says nothing about health any more, and its series should leave with the user's intent.
 */
const HEALTH_CLUSTER = `c.state IN ('provisioning', 'active', 'updating', 'error')`;

/**
 * The aggregate reads behind the cluster gauges (scrape time only; nothing here is per request).
 * Each read walks a partial index holding only the rows it reports (unhealthy or provisioning
 * objects), so a scrape costs what is wrong in the fleet, not the size of the fleet.
 */
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

  async unhealthyClusterConditions(): Promise<UnhealthyCondition[]> {
    return this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, u.condition
       FROM clusters c JOIN projects p ON p.id = c.project_id, unnest(c.unhealthy_conditions) AS u(condition)
       WHERE cardinality(c.unhealthy_conditions) > 0 AND ${HEALTH_CLUSTER}`,
    );
  }

  async unhealthyNodeConditions(): Promise<UnhealthyCondition[]> {
    return this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, n.hostname AS node, u.condition
       FROM nodes n JOIN clusters c ON c.id = n.cluster_id JOIN projects p ON p.id = c.project_id,
         unnest(n.unhealthy_conditions) AS u(condition)
       WHERE cardinality(n.unhealthy_conditions) > 0 AND ${HEALTH_CLUSTER}`,
    );
  }

  /** Clusters Paddock is still creating, with how long since it accepted the create. */
  async provisioningClusters(): Promise<Provisioning[]> {
    const rows: Array<Provisioning & { seconds: string }> = await this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, extract(epoch FROM now() - c.created_at)::float8 AS seconds
       FROM clusters c JOIN projects p ON p.id = c.project_id WHERE c.state = 'provisioning'`,
    );
    return rows.map((r) => ({ ...r, seconds: Number(r.seconds) }));
  }

  /**
   * Clusters reading `updating` (an update, upgrade or restore under way), with how long: since
   * the operation that runs on the cluster was accepted, or, for a change the backend started on
   * its own, since the row last changed.
   */
  async updatingClusters(): Promise<Provisioning[]> {
    const rows: Array<Provisioning & { seconds: string }> = await this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster,
         extract(epoch FROM now() - coalesce(
           (SELECT min(o.created_at) FROM operations o
            WHERE o.cluster_id = c.id AND o.state IN ('pending', 'running')),
           c.updated_at))::float8 AS seconds
       FROM clusters c JOIN projects p ON p.id = c.project_id WHERE c.state = 'updating'`,
    );
    return rows.map((r) => ({ ...r, seconds: Number(r.seconds) }));
  }

  /** Nodes not yet registered with Kubernetes, with how long since the sync first saw them so. */
  async provisioningNodes(): Promise<Provisioning[]> {
    const rows: Array<Provisioning & { seconds: string }> = await this.uow.manager.query(
      `SELECT p.name AS project, c.name AS cluster, n.hostname AS node,
         extract(epoch FROM now() - n.provisioning_since)::float8 AS seconds
       FROM nodes n JOIN clusters c ON c.id = n.cluster_id JOIN projects p ON p.id = c.project_id
       WHERE n.provisioning_since IS NOT NULL AND ${HEALTH_CLUSTER}`,
    );
    return rows.map((r) => ({ ...r, seconds: Number(r.seconds) }));
  }

  /** Operations not finished yet, by type: how many, and how long the oldest has been waiting. */
  async inFlightByType(): Promise<Map<string, { count: number; oldestSeconds: number }>> {
    const rows: Array<{ type: string; n: number; oldest: number }> = await this.uow.manager.query(
      `SELECT type, count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest
       FROM operations WHERE state IN ('pending', 'running') GROUP BY type`,
    );
    return new Map(rows.map((r) => [r.type, { count: r.n, oldestSeconds: Number(r.oldest) }]));
  }

  /** The finished operations' duration histogram, one row per type, outcome and bucket. */
  async operationDurations(): Promise<DurationBucket[]> {
    const rows: Array<{
      type: string;
      outcome: string;
      le: number;
      observations: string;
      sum_seconds: number;
    }> = await this.uow.manager.query(
      `SELECT type, outcome, le, observations, sum_seconds FROM operation_durations ORDER BY type, outcome, le`,
    );
    return rows.map((r) => ({
      type: r.type,
      outcome: r.outcome,
      le: Number(r.le),
      observations: Number(r.observations),
      sumSeconds: Number(r.sum_seconds),
    }));
  }

  /** Per project, live clusters that expire within `seconds` from now (overdue ones included). */
  async expiringWithin(seconds: number): Promise<Map<string, number>> {
    const rows: Array<{ project: string; n: number }> = await this.uow.manager.query(
      `SELECT p.name AS project, count(*)::int AS n
       FROM clusters c JOIN projects p ON p.id = c.project_id
       WHERE c.expires_at IS NOT NULL AND c.state NOT IN ('deleted', 'failed', 'deleting')
         AND c.expires_at <= now() + make_interval(secs => $1)
       GROUP BY p.name`,
      [seconds],
    );
    return new Map(rows.map((r) => [r.project, r.n]));
  }
}
