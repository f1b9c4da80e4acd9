/**
 * Scenario 4, the status sync at 1,000, 5,000 and 10,000 clusters (two pools and two nodes per
 * cluster): Rancher calls, wall time and database writes of one cycle of
 * `StatusSyncService.syncBackend`, run in the bench process without the rest of the worker (see
 * sync-harness.ts). Calls come from the simulator's call log; statements from wrapping pg.
 * The floor is the bare cost of the same listing: the same pages fetched and parsed with `fetch`.
 */
import { ScenarioResult, table } from '../support';
import { startSyncHarness } from '../sync-harness';
import type { Fleet } from './fleet';

const SIZES = (process.env.BENCH_SYNC_SIZES ?? '1000,5000,10000').split(',').map(Number);
const CYCLES = Math.max(2, Number(process.env.BENCH_SYNC_CYCLES ?? 3));
const PAGE = 1000; // the Rancher client's page size (src/rancher-backends/rancher-client.ts)

/** The floor: the three lists, page by page, fetched and parsed; nothing else. */
async function listingFloor(fleet: Fleet): Promise<{ ms: number; pages: number }> {
  const started = performance.now();
  let pages = 0;
  for (const collection of ['clusters', 'nodepools', 'nodes']) {
    let marker: string | undefined;
    for (;;) {
      const page = await fleet.sim.request<{ pagination?: { next?: string } }>(
        'GET',
        `/v3/${collection}?limit=${PAGE}${marker ? `&marker=${encodeURIComponent(marker)}` : ''}`,
      );
      pages++;
      const next = page.pagination?.next;
      marker = next ? (new URL(next).searchParams.get('marker') ?? undefined) : undefined;
      if (!marker) break;
    }
  }
  return { ms: Math.round(performance.now() - started), pages };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

export async function syncScenario(fleet: Fleet): Promise<ScenarioResult> {
  const harness = await startSyncHarness(fleet.db.url, `${fleet.prefix}s`);
  const rows: Array<Record<string, number | string>> = [];
  let ok = true;
  try {
    for (const size of SIZES) {
      await fleet.growTo(size);
      const cycles: Array<{
        wallMs: number;
        durationMs: number;
        calls: Record<string, number>;
        statements: number;
        writes: number;
        rowsWritten: number;
      }> = [];
      for (let c = 0; c < CYCLES; c++) {
        await fleet.sim.clearCalls();
        const { report, wallMs, db } = await harness.cycle(fleet.backendId);
        const calls: Record<string, number> = {};
        for (const call of await fleet.sim.calls()) {
          const key = `${call.method} ${call.path}`;
          calls[key] = (calls[key] ?? 0) + 1;
        }
        if (report.clusters !== size) ok = false;
        if (
          report.missingClusters.length +
            report.scaledPools.length +
            report.unknownClusters.length +
            report.unknownPools.length >
          0
        )
          ok = false;
        cycles.push({
          wallMs,
          durationMs: report.durationMs,
          calls,
          statements: db.statements,
          writes: db.writes,
          rowsWritten: db.rowsWritten,
        });
      }
      await fleet.sim.clearCalls();
      const floors = [await listingFloor(fleet), await listingFloor(fleet)];
      const floorMs = Math.min(...floors.map((f) => f.ms));
      const first = cycles[0];
      const steady = cycles.slice(1);
      const steadyWall = median(steady.map((s) => s.wallMs));
      const totalCalls = (c: (typeof cycles)[number]) => Object.values(c.calls).reduce((a, b) => a + b, 0);
      const expectedPages =
        Math.ceil(size / PAGE) + Math.ceil(fleet.pools / PAGE) + Math.ceil(fleet.nodes / PAGE);
      const calls = totalCalls(steady[0]);
      if (calls !== expectedPages || steady.some((s) => totalCalls(s) !== calls)) ok = false;
      rows.push({
        clusters: size,
        pools: fleet.pools,
        nodes: fleet.nodes,
        'pages (1,000 per page)': expectedPages,
        'Rancher calls': `${calls} (clusters ${steady[0].calls['GET /v3/clusters'] ?? 0}, pools ${steady[0].calls['GET /v3/nodepools'] ?? 0}, nodes ${steady[0].calls['GET /v3/nodes'] ?? 0})${calls !== expectedPages ? ' ✗' : ' ✓'}`,
        'calls per cluster': Math.round((calls / size) * 10_000) / 10_000,
        'wall ms (first / steady)': `${first.wallMs} / ${steadyWall}`,
        'listing floor ms': floorMs,
        'steady ÷ floor': Math.round((steadyWall / floorMs) * 100) / 100,
        'write statements (first / steady)': `${first.writes} / ${median(steady.map((s) => s.writes))}`,
        'all statements': median(steady.map((s) => s.statements)),
        'rows written (first / steady)': `${first.rowsWritten} / ${median(steady.map((s) => s.rowsWritten))}`,
      });
    }
  } finally {
    await harness.close();
  }
  const header = Object.keys(rows[0]);
  return {
    key: 'sync',
    title: `Status sync — one cycle of one backend (${CYCLES} cycles per size; "first" = first cycle after the clusters were added, "steady" = median of the others; statements counted by wrapping pg inside the cycle; floor = the same pages fetched and parsed, nothing else)`,
    markdown: table(
      header,
      rows.map((r) => header.map((h) => r[h])),
    ),
    data: rows,
    ok,
  };
}
