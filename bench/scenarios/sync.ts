/**
 * Scenario 4, the status sync (two pools and two nodes per cluster): one cycle of one backend at
 * 1,000, 5,000 and 10,000 clusters, then one cycle of every backend at 50,000 clusters (5
 * simulators × 10,000, registered as 5 backends of one Paddock). Measured: Rancher calls, wall
 * time and database writes of `StatusSyncService.syncBackend`, run in the bench process without
 * the rest of the worker (see sync-harness.ts); a cycle of several backends runs them at most
 * SYNC_CONCURRENCY at once, as a worker's sync processor does. Calls come from the simulators'
 * call logs; statements from wrapping pg. The floor is the bare cost of the same listing: the same
 * pages fetched and parsed with `fetch`, as many backends at once. The many-backend point also
 * gives the resident size (VmRSS) of a real worker process after it synced every backend a few
 * times, as the memory scenario does at 10,000.
 */
import { SYNC_CONCURRENCY } from '../../src/clusters/status-sync.processor';
import { ScenarioResult, SimChild, mapLimit, rssMiB, table } from '../support';
import { startSyncHarness, SyncHarness } from '../sync-harness';
import { Fleet, FleetBackend, workerAfterSyncCycles } from './fleet';

const SIZES = (process.env.BENCH_SYNC_SIZES ?? '1000,5000,10000').split(',').map(Number);
const CYCLES = Math.max(2, Number(process.env.BENCH_SYNC_CYCLES ?? 3));
/** Cycles of every backend a real worker runs before its resident size is read. */
const RSS_CYCLES = Number(process.env.BENCH_MEMORY_SYNC_CYCLES ?? 3);
/** PADDOCK_SYNC_PAGE_SIZE of the measured cycles (the default, 1000, unless BENCH_SYNC_PAGE_SIZE). */
const SYNC_ENV: Record<string, string> = process.env.BENCH_SYNC_PAGE_SIZE
  ? { PADDOCK_SYNC_PAGE_SIZE: process.env.BENCH_SYNC_PAGE_SIZE }
  : {};
/** The lists of an rke1 cycle, in its order; seeded clusters have no etcd backups (one empty page). */
const LISTS = [
  { path: '/v3/nodes', label: 'nodes', count: (b: FleetBackend) => b.nodes },
  { path: '/v3/nodepools', label: 'pools', count: (b: FleetBackend) => b.pools },
  { path: '/v3/clusters', label: 'clusters', count: (b: FleetBackend) => b.rancherIds.length },
  { path: '/v3/etcdbackups', label: 'backups', count: () => 0 },
];

/** The floor: each backend's lists, page by page, fetched and parsed; nothing else. */
async function listingFloor(backends: FleetBackend[], pageSize: number): Promise<number> {
  const started = performance.now();
  await mapLimit(backends, SYNC_CONCURRENCY, async ({ sim }) => {
    for (const { path } of LISTS) {
      let marker: string | undefined;
      for (;;) {
        const page = await sim.request<{ pagination?: { next?: string } }>(
          'GET',
          `${path}?limit=${pageSize}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
        );
        const next = page.pagination?.next;
        marker = next ? (new URL(next).searchParams.get('marker') ?? undefined) : undefined;
        if (!marker) break;
      }
    }
  });
  return Math.round(performance.now() - started);
}

/** The simulator's calls since it was last cleared, by path. */
async function callsByPath(sim: SimChild): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const call of await sim.calls()) calls[call.path] = (calls[call.path] ?? 0) + 1;
  return calls;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const fmt = (n: number) => n.toLocaleString('en');

interface Cycle {
  wallMs: number;
  /** Per backend, in the order of the point's backends. */
  calls: Array<Record<string, number>>;
  statements: number;
  writes: number;
  rowsWritten: number;
}

/**
 * `CYCLES` cycles of `backends`, and a row of the table. `ok` is false when a cycle did not
 * mirror every cluster (a report short of clusters, drift, a cluster left unstamped) or made other
 * calls than one per page.
 */
async function measurePoint(
  fleet: Fleet,
  harness: SyncHarness,
  backends: FleetBackend[],
): Promise<{ row: Record<string, number | string>; ok: boolean }> {
  const clusters = backends.reduce((n, b) => n + b.rancherIds.length, 0);
  const pools = backends.reduce((n, b) => n + b.pools, 0);
  const nodes = backends.reduce((n, b) => n + b.nodes, 0);
  const ids = backends.map((b) => b.backendId);
  let ok = true;
  let fewestStamped = clusters;
  const cycles: Cycle[] = [];
  for (let c = 0; c < CYCLES; c++) {
    await Promise.all(backends.map((b) => b.sim.clearCalls()));
    const cycleStart = (await fleet.pg.query<{ now: Date }>('SELECT now()')).rows[0].now;
    const started = performance.now();
    const results = await mapLimit(ids, SYNC_CONCURRENCY, (id) => harness.cycle(id));
    const wallMs = Math.round(performance.now() - started);
    for (const [i, { report }] of results.entries()) {
      if (report.clusters !== backends[i].rancherIds.length) ok = false;
      const drift =
        report.missingClusters.length +
        report.scaledPools.length +
        report.unknownClusters.length +
        report.unknownPools.length;
      if (drift > 0) ok = false;
    }
    const stamped = (
      await fleet.pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM clusters WHERE backend_id = ANY($1::uuid[]) AND status_updated_at >= $2`,
        [ids, cycleStart],
      )
    ).rows[0].n;
    fewestStamped = Math.min(fewestStamped, stamped);
    cycles.push({
      wallMs,
      calls: await Promise.all(backends.map((b) => callsByPath(b.sim))),
      statements: results.reduce((n, r) => n + r.db.statements, 0),
      writes: results.reduce((n, r) => n + r.db.writes, 0),
      rowsWritten: results.reduce((n, r) => n + r.db.rowsWritten, 0),
    });
  }
  if (fewestStamped < clusters) ok = false;
  const floorMs = Math.min(
    await listingFloor(backends, harness.pageSize),
    await listingFloor(backends, harness.pageSize),
  );
  const first = cycles[0];
  const steady = cycles.slice(1);
  const steadyWall = median(steady.map((s) => s.wallMs));

  const pages = (n: number) => Math.max(1, Math.ceil(n / harness.pageSize));
  const expectedOf = (b: FleetBackend) => LISTS.reduce((n, l) => n + pages(l.count(b)), 0);
  const expected = backends.reduce((n, b) => n + expectedOf(b), 0);
  const perBackend = steady[0].calls.map(total);
  const calls = perBackend.reduce((a, b) => a + b, 0);
  const callsOk =
    backends.every((b, i) => perBackend[i] === expectedOf(b)) &&
    steady.every((s) => s.calls.every((byPath, i) => total(byPath) === perBackend[i]));
  if (!callsOk) ok = false;
  const byList = LISTS.map(
    (l) => `${l.label} ${steady[0].calls.reduce((n, byPath) => n + (byPath[l.path] ?? 0), 0)}`,
  ).join(', ');
  const perSim = backends.length > 1 ? `; per simulator ${perBackend.join(' / ')}` : '';
  return {
    ok,
    row: {
      backends: backends.length,
      clusters: fewestStamped < clusters ? `${clusters} ✗ (${fmt(fewestStamped)} synced)` : clusters,
      pools,
      nodes,
      [`pages (${fmt(harness.pageSize)} per page)`]: expected,
      'Rancher calls': `${calls} (${byList}${perSim})${callsOk ? ' ✓' : ' ✗'}`,
      'calls per cluster': Math.round((calls / clusters) * 10_000) / 10_000,
      'wall ms (first / steady)': `${first.wallMs} / ${steadyWall}`,
      'listing floor ms': floorMs,
      'steady ÷ floor': Math.round((steadyWall / floorMs) * 100) / 100,
      'write statements (first / steady)': `${first.writes} / ${median(steady.map((s) => s.writes))}`,
      'all statements': median(steady.map((s) => s.statements)),
      'rows written (first / steady)': `${first.rowsWritten} / ${median(steady.map((s) => s.rowsWritten))}`,
    },
  };
}

/** The worker's resident size after it synced every backend of the fleet `RSS_CYCLES` times. */
async function workerRss(fleet: Fleet): Promise<{ cell: string; ok: boolean }> {
  const ids = fleet.backends.map((b) => b.backendId);
  const { worker, rssAfterFirst, reports } = await workerAfterSyncCycles(
    fleet,
    ids,
    RSS_CYCLES,
    600_000,
    SYNC_ENV,
  );
  try {
    const rss = rssMiB(worker.pid);
    const synced = reports.reduce((n, r) => n + (r.clusters ?? 0), 0);
    const ok = synced === fleet.clusters;
    return {
      cell: `${rssAfterFirst} / ${rss}${ok ? '' : ` ✗ (its last cycles saw ${fmt(synced)} clusters)`}`,
      ok,
    };
  } finally {
    await worker.stop();
  }
}

const RSS_COLUMN = `worker RSS MiB (after 1 / ${RSS_CYCLES} cycles of every backend)`;

export interface SyncScenario {
  /** One backend at each of the sizes, growing the fleet's first backend to each in turn. */
  measureSizes(fleet: Fleet): Promise<void>;
  /** One cycle of every backend of the fleet, and a worker's resident size after syncing them. */
  measureAllBackends(fleet: Fleet): Promise<void>;
  result(): ScenarioResult;
}

export function syncScenario(): SyncScenario {
  const rows: Array<Record<string, number | string>> = [];
  let ok = true;
  let scale: { backends: number; clusters: number } | undefined;
  /** `work` with a sync harness of its own, closed after it. */
  const withHarness = async <T>(fleet: Fleet, work: (harness: SyncHarness) => Promise<T>): Promise<T> => {
    const harness = await startSyncHarness(fleet.db.url, `${fleet.prefix}s`, SYNC_ENV);
    try {
      return await work(harness);
    } finally {
      await harness.close();
    }
  };
  return {
    measureSizes: (fleet) =>
      withHarness(fleet, async (harness) => {
        for (const size of SIZES) {
          await fleet.growTo(size);
          const point = await measurePoint(fleet, harness, [fleet.backends[0]]);
          rows.push({ ...point.row, [RSS_COLUMN]: '— (see Memory)' });
          ok &&= point.ok;
        }
      }),
    async measureAllBackends(fleet) {
      const point = await withHarness(fleet, (harness) => measurePoint(fleet, harness, fleet.backends));
      // After the harness closed: the worker is the only process syncing.
      const rss = await workerRss(fleet);
      scale = { backends: fleet.backends.length, clusters: fleet.clusters };
      rows.push({ ...point.row, [RSS_COLUMN]: rss.cell });
      ok &&= point.ok && rss.ok;
    },
    result() {
      const header = Object.keys(rows[0]);
      return {
        key: 'sync',
        title: `Status sync — one cycle of one backend at ${SIZES.map(fmt).join(' / ')} clusters${scale ? `, and of all ${scale.backends} backends at ${fmt(scale.clusters)} (at most ${SYNC_CONCURRENCY} at once, as a worker runs them)` : ''} (${CYCLES} cycles per point; "first" = first cycle after the clusters were added, "steady" = median of the others; statements counted by wrapping pg inside the cycle; floor = the same pages fetched and parsed, nothing else; worker RSS = VmRSS of a real worker process, see Memory for one backend)`,
        markdown: table(
          header,
          rows.map((r) => header.map((h) => r[h])),
        ),
        data: rows,
        ok,
      };
    },
  };
}
