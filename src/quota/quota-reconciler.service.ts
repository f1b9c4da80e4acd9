import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { UnitOfWork } from '../database/unit-of-work';
import { counter } from '../metrics/metrics.module';
import { QUEUES, WORKER_LOCK_OPTIONS } from '../queue/queues';
import { QuotaReconcileReportDto, QuotaRepairDto } from './quota.dto';
import { QUOTA_RESOURCES, QuotaRecord, QuotaRepository, QuotaTruth } from './quota.repository';

const differs = (q: QuotaRecord, t: QuotaTruth) =>
  QUOTA_RESOURCES.some((r) => q[r].used !== t[r].used || q[r].reserved !== t[r].reserved);

/**
 * Recomputes every project's usage from the cluster tables and repairs counters that drifted
 * (a bug, a manual edit, a period with enforcement off). A first pass without locks finds the
 * suspects; each one is then checked again under its quota row's lock, which every transaction
 * that changes the project's usage also takes, so an operation finishing meanwhile is never
 * mistaken for drift.
 */
@Injectable()
export class QuotaReconciler {
  private readonly logger = new Logger(QuotaReconciler.name);
  private readonly repairs;
  private pass: Promise<QuotaReconcileReportDto> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly quotas: QuotaRepository,
    registry: Registry,
  ) {
    this.repairs = counter(registry, {
      name: 'paddock_quota_drift_repairs_total',
      help: 'Quota counters found to disagree with the cluster tables and repaired, by project and resource.',
      labelNames: ['project', 'resource'],
    });
  }

  /** One pass; concurrent callers in this process share it. */
  reconcile(): Promise<QuotaReconcileReportDto> {
    this.pass ??= this.reconcileOnce().finally(() => (this.pass = null));
    return this.pass;
  }

  private async reconcileOnce(): Promise<QuotaReconcileReportDto> {
    const added = await this.quotas.ensureAll(this.config.defaultQuota);
    if (added > 0) this.logger.log(`gave ${added} project(s) the default quota`);
    const rows = new Map((await this.quotas.listAll()).map((q) => [q.projectId, q]));
    const suspects = (await this.quotas.truth(null)).filter((t) => {
      const row = rows.get(t.projectId);
      return row !== undefined && differs(row, t);
    });
    const repaired: QuotaRepairDto[] = [];
    for (const suspect of suspects) {
      await this.uow.run(async () => {
        const row = await this.quotas.findByProjectId(suspect.projectId, true);
        const [truth] = await this.quotas.truth([suspect.projectId]);
        if (!row || !truth || !differs(row, truth)) return;
        await this.quotas.overwrite(row.projectId, truth);
        for (const resource of QUOTA_RESOURCES) {
          if (
            row[resource].used === truth[resource].used &&
            row[resource].reserved === truth[resource].reserved
          )
            continue;
          const repair: QuotaRepairDto = {
            project: row.projectName,
            resource,
            usedWas: row[resource].used,
            used: truth[resource].used,
            reservedWas: row[resource].reserved,
            reserved: truth[resource].reserved,
          };
          repaired.push(repair);
          this.repairs.inc({ project: row.projectName, resource });
          this.logger.warn(repair, 'quota counters disagreed with the cluster tables; repaired');
        }
      });
    }
    return { checkedProjects: rows.size, repaired };
  }
}

/**
 * Runs the reconcile pass on a period, once for the whole deployment: a BullMQ job scheduler
 * (kept, with the other cluster-wide ones, by `MaintenanceProcessor`, which also puts it back
 * after Redis lost it) hands each run to one worker. A pass is idempotent, so a run repeated
 * after a crash is harmless.
 */
@Processor(QUEUES.quotaReconcile, { concurrency: 1, ...WORKER_LOCK_OPTIONS })
export class QuotaReconcileProcessor extends WorkerHost {
  private readonly logger = new Logger(QuotaReconcileProcessor.name);

  constructor(private readonly reconciler: QuotaReconciler) {
    super();
  }

  async process(): Promise<void> {
    await this.reconciler.reconcile();
  }

  /** Redis-level trouble is logged, not fatal: the next scheduled run tries again. */
  @OnWorkerEvent('error')
  onWorkerError(error: Error): void {
    this.logger.warn({ reason: error.message }, 'queue worker error');
  }
}
