import { HttpStatus, Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { notFound, ProblemError } from '../common/problem';
import { QuotaDto, QuotaListDto } from './quota.dto';
import { QuotaAmount, QuotaCounters, QuotaRecord, QuotaRepository } from './quota.repository';

const resource = (c: QuotaCounters) => ({
  limit: c.limit,
  used: c.used,
  reserved: c.reserved,
  available: Math.max(0, c.limit - c.used - c.reserved),
});

export const toQuotaDto = (q: QuotaRecord): QuotaDto => ({
  project: q.projectName,
  clusters: resource(q.clusters),
  nodes: resource(q.nodes),
  maxClusterLifetimeSeconds: q.maxClusterLifetimeSeconds,
  updatedAt: q.updatedAt.toISOString(),
});

const isZero = (a: QuotaAmount) => a.clusters === 0 && a.nodes === 0;

/**
 * Per-project limits on clusters and nodes. A change is reserved in the transaction that records
 * it (`reserve`), and settled by the operation runner in the transaction that finishes the
 * operation (`confirm`, `cancel`, `free`), so `used + reserved ≤ limit` holds at every commit, across
 * any number of API replicas. None of these methods opens or commits a transaction.
 */
@Injectable()
export class QuotaService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly quotas: QuotaRepository,
  ) {}

  /** Gives a new project its default limits; joins the caller's transaction. */
  async initialize(projectId: string): Promise<void> {
    await this.quotas.ensure(projectId, this.config.defaultQuota);
  }

  /**
   * Reserves `amount` in the caller's transaction, or throws 409 `QUOTA_EXCEEDED`. One conditional
   * UPDATE; the row stays locked until the caller commits, so call it before slower work only when
   * a refusal should be cheap, and never around a network call.
   */
  async reserve(projectId: string, amount: QuotaAmount): Promise<void> {
    if (!this.config.quotaEnforced || isZero(amount)) return;
    if (await this.quotas.tryReserve(projectId, amount)) return;
    let current = await this.quotas.findByProjectId(projectId);
    if (!current) {
      // A project created before quotas existed and not yet seen by the reconcile job.
      await this.quotas.ensure(projectId, this.config.defaultQuota);
      if (await this.quotas.tryReserve(projectId, amount)) return;
      current = await this.quotas.findByProjectId(projectId);
    }
    if (!current) throw new Error(`project ${projectId} has no quota row`);
    const over =
      amount.clusters > 0 &&
      current.clusters.used + current.clusters.reserved + amount.clusters > current.clusters.limit
        ? 'clusters'
        : 'nodes';
    const counters = current[over];
    throw new ProblemError(
      HttpStatus.CONFLICT,
      'QUOTA_EXCEEDED',
      `project '${current.projectName}' would exceed its ${over} quota: limit ${counters.limit}, used ${counters.used}, reserved ${counters.reserved}, requested ${amount[over]}`,
      {
        resource: over,
        limit: counters.limit,
        used: counters.used,
        reserved: counters.reserved,
        requested: amount[over],
      },
    );
  }

  /** The operation that reserved `amount` succeeded: the reservation becomes usage. */
  async confirm(projectId: string, amount: QuotaAmount): Promise<void> {
    if (!this.config.quotaEnforced || isZero(amount)) return;
    await this.quotas.adjust(projectId, {
      clustersReserved: -amount.clusters,
      clustersUsed: amount.clusters,
      nodesReserved: -amount.nodes,
      nodesUsed: amount.nodes,
    });
  }

  /** The operation that reserved `amount` failed or was compensated: the reservation is dropped. */
  async cancel(projectId: string, amount: QuotaAmount): Promise<void> {
    if (!this.config.quotaEnforced || isZero(amount)) return;
    await this.quotas.adjust(projectId, { clustersReserved: -amount.clusters, nodesReserved: -amount.nodes });
  }

  /** A delete or a shrink is done: what it held is no longer used. */
  async free(projectId: string, amount: QuotaAmount): Promise<void> {
    if (!this.config.quotaEnforced || isZero(amount)) return;
    await this.quotas.adjust(projectId, { clustersUsed: -amount.clusters, nodesUsed: -amount.nodes });
  }

  /** The project's maximum cluster lifetime in seconds; null when it has none. */
  maxClusterLifetimeOf(projectId: string): Promise<number | null> {
    return this.quotas.maxClusterLifetimeOf(projectId);
  }

  async get(projectName: string): Promise<QuotaDto> {
    const quota = await this.quotas.findByProjectName(projectName);
    if (!quota) throw notFound('project', projectName);
    return toQuotaDto(quota);
  }

  async setLimits(
    projectName: string,
    limits: QuotaAmount & { maxClusterLifetimeSeconds?: number | null },
  ): Promise<QuotaDto> {
    const all = { ...limits, maxClusterLifetimeSeconds: limits.maxClusterLifetimeSeconds ?? null };
    if (!(await this.quotas.setLimits(projectName, all))) throw notFound('project', projectName);
    return this.get(projectName);
  }

  async list(query: PageQuery): Promise<QuotaListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.quotas.list(limit, after?.key ?? null);
    const page = toPage(rows, limit, (q) => ({ key: q.projectName, id: q.projectId }));
    return { items: page.items.map(toQuotaDto), nextCursor: page.nextCursor };
  }
}
