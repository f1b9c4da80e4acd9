import { Injectable, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { AddonSync } from '../addons/addon-sync.service';
import { KINDS_WITH_BACKUPS } from '../backups/backup.types';
import { BackupsRepository } from '../backups/backups.repository';
import { UnitOfWork } from '../database/unit-of-work';
import { counter, gauge, histogram } from '../metrics/metrics.module';
import { BackendDriver, PADDOCK_LABELS } from '../rancher-backends/backend-driver';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { NodeRegistrationLedger } from '../node-registrations/node-registration-ledger.service';
import { DriftReport, labelledIds, SyncDiff } from './status-sync.diff';
import { StatusSyncRepository } from './status-sync.repository';

export interface SyncReport extends DriftReport {
  durationMs: number;
}

/**
 * Mirrors one backend into Postgres: four paged lists (nodes, pools, clusters, backups), each page
 * written away with set-based statements before the next is used. Users' reads are served from what this writes; drift it finds
 * becomes a condition, a metric and a line in the backend's sync report.
 */
@Injectable()
export class StatusSyncService {
  private readonly logger = new Logger(StatusSyncService.name);
  /** The drift last logged per backend: the same drift found again is not logged again. */
  private readonly loggedDrift = new Map<string, string>();
  private readonly drift;
  private readonly runs;
  private readonly duration;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly repository: StatusSyncRepository,
    private readonly backups: BackupsRepository,
    private readonly registrations: NodeRegistrationLedger,
    private readonly addons: AddonSync,
    registry: Registry,
  ) {
    this.drift = gauge(registry, {
      name: 'paddock_drift_objects',
      help: 'Objects found out of step with Paddock at the last sync, by backend and kind.',
      labelNames: ['backend', 'kind'],
    });
    this.runs = counter(registry, {
      name: 'paddock_sync_runs_total',
      help: 'Status sync cycles, by backend and outcome.',
      labelNames: ['backend', 'outcome'],
    });
    this.duration = histogram(registry, {
      name: 'paddock_sync_duration_seconds',
      help: 'Wall time of one status sync cycle.',
      labelNames: ['backend'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
  }

  /** One cycle for one backend; returns null when the backend could not be listed. */
  async syncBackend(backendId: string): Promise<SyncReport | null> {
    const started = Date.now();
    const backend = await this.backends.findById(backendId);
    if (!backend) return null;
    const driver = this.drivers.forBackend(backend);
    let drift: DriftReport;
    try {
      drift = await this.mirror(backend.id, backend.name, driver);
    } catch (error) {
      if (!isBackendError(error)) throw error;
      const message = `listing the backend failed: ${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}`;
      await this.uow.run(async () => {
        await this.repository.markUnreachable(backend.id, error.kind, message);
        await this.backends.recordSync(backend.id, { ok: false, error: message });
      });
      this.runs.inc({ backend: backend.name, outcome: 'unreachable' });
      this.logger.warn({ backend: backend.name, kind: error.kind }, message);
      return null;
    }
    const report: SyncReport = { ...drift, durationMs: Date.now() - started };
    await this.backends.recordSync(backend.id, {
      ok: true,
      report: { ...report, at: new Date().toISOString() },
    });

    this.drift.set({ backend: backend.name, kind: 'missing-cluster' }, report.missingClusters.length);
    this.drift.set({ backend: backend.name, kind: 'scaled-pool' }, report.scaledPools.length);
    this.drift.set({ backend: backend.name, kind: 'unknown-cluster' }, report.unknownClusters.length);
    this.drift.set({ backend: backend.name, kind: 'unknown-pool' }, report.unknownPools.length);
    const unregisteredNodes = report.unregisteredNodes ?? [];
    this.drift.set({ backend: backend.name, kind: 'unregistered-node' }, unregisteredNodes.length);
    this.runs.inc({ backend: backend.name, outcome: 'ok' });
    this.duration.observe({ backend: backend.name }, report.durationMs / 1000);
    // Drift persists across cycles until someone acts: the gauges above show it every cycle,
    // the log says when it appears, changes or goes away (not once per cycle).
    const { missingClusters, scaledPools, unknownClusters, unknownPools } = report;
    const seen = JSON.stringify([
      missingClusters,
      scaledPools,
      unknownClusters,
      unknownPools,
      unregisteredNodes,
    ]);
    if (seen !== (this.loggedDrift.get(backend.name) ?? JSON.stringify([[], [], [], [], []]))) {
      this.loggedDrift.set(backend.name, seen);
      const found =
        missingClusters.length + scaledPools.length + unknownClusters.length + unknownPools.length;
      if (found + unregisteredNodes.length > 0)
        this.logger.warn({ ...report }, `drift on backend ${backend.name}`);
      else this.logger.log({ backend: backend.name }, `no more drift on backend ${backend.name}`);
    }
    return report;
  }

  /**
   * Nodes first (pools count their ready nodes, clusters their nodes), then pools (clusters show
   * their pools' drift), then clusters; each page is written before the next is used, and the
   * next is already being fetched meanwhile. Rows are read after the page that names them was
   * listed, so an object created on the backend during the cycle is never taken for an orphan.
   * Each write is a statement of its own: a page's rows are independent of each other, and a
   * transaction held across the listing would hold row locks that operations wait on.
   */
  private async mirror(backendId: string, backendName: string, driver: BackendDriver): Promise<DriftReport> {
    const diff = new SyncDiff();
    for await (const page of prefetched(driver.nodePages())) {
      const ids = await this.repository.idsForNodes(
        backendId,
        unique(page.map((n) => n.clusterId)),
        unique(page.flatMap((n) => (n.nodePoolId ? [n.nodePoolId] : []))),
      );
      await this.repository.upsertNodes(diff.nodes(page, ids.clusters, ids.pools));
    }
    // Own servers' quota moves with what was listed (joined ones count, gone ones free theirs)
    // before the rows of gone nodes are dropped; those no registration counts are drift.
    const uncounted = await this.uow.run(() => this.registrations.settleSync(backendId, diff.seenNodeIds));
    diff.unregisteredNodes(uncounted);
    await this.repository.deleteNodesNotIn(backendId, diff.seenNodeIds);

    for await (const page of prefetched(driver.nodePoolPages())) {
      const known = await this.repository.poolsNamed(
        backendId,
        page.map((p) => p.id),
        labelledIds(page, PADDOCK_LABELS.poolId),
      );
      await this.repository.updatePools(diff.pools(page, known));
    }
    const missingPools = await this.repository.poolsNotIn(backendId, [...diff.seenPoolIds]);
    await this.repository.updatePools(diff.missingPools(missingPools));

    for await (const page of prefetched(driver.clusterPages())) {
      const known = await this.repository.clustersNamed(
        backendId,
        page.map((c) => c.id),
        labelledIds(page, PADDOCK_LABELS.clusterId),
      );
      await this.repository.updateClusters(diff.clusters(page, known));
    }
    const missingClusters = await this.repository.clustersNotIn(backendId, [...diff.seenClusterIds]);
    await this.repository.updateClusters(diff.missingClusterUpdates(missingClusters));

    // Backups last, one call per page whatever the number of clusters; each row carries the
    // cycle's time, so the ones no page named (rotated, or gone with their cluster) are dropped
    // without holding every id in memory.
    if (KINDS_WITH_BACKUPS.has(driver.kind)) {
      const cycleAt = new Date();
      for await (const page of prefetched(driver.backupPages()))
        await this.backups.upsertPage(backendId, page, cycleAt);
      await this.backups.deleteNotSyncedSince(backendId, cycleAt);
    }
    // Addons after the clusters, so a cluster that just became active is counted this cycle.
    await this.addons.syncBackend(backendId, driver);
    return diff.report(backendName);
  }
}

const unique = (xs: string[]) => [...new Set(xs)];

/**
 * Pages of `source`, with the next one requested while the caller works on the current one, so
 * the database writes of a page overlap the backend's answer for the next. At most two pages are
 * held at a time.
 */
export async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      next = iterator.next();
      // A failure of the prefetch surfaces when it is awaited; until then it must not be unhandled.
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    await iterator.return?.();
  }
}
