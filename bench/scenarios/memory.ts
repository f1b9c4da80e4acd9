/**
 * Scenario 5, memory at 10,000 clusters: resident size (VmRSS) of the API after it served the
 * reads, and of a worker process after a few sync cycles of the whole fleet. Beside them, floors
 * measured in the same run: the same API process before any load, and the bare Nest + pg floor
 * server (after it served the same reads).
 */
import { ScenarioResult, rssMiB, table } from '../support';
import { Fleet, workerAfterSyncCycles } from './fleet';

const CYCLES = Number(process.env.BENCH_MEMORY_SYNC_CYCLES ?? 3);

export async function memoryScenario(fleet: Fleet, readsRan: boolean): Promise<ScenarioResult> {
  const {
    worker,
    rssAfterFirst: workerAfterFirst,
    reports,
  } = await workerAfterSyncCycles(fleet, [fleet.backends[0].backendId], CYCLES, 180_000);
  try {
    const report = reports[0];
    const r2 = (x: number) => Math.round(x * 100) / 100;
    const apiNow = rssMiB(fleet.api.pid);
    const floorNow = rssMiB(fleet.floor.pid);
    const workerNow = rssMiB(worker.pid);
    const rows: Array<Array<string | number>> = [
      ['floor server (bare Nest + pg)', 'at start', fleet.rssAtStart.floor, 1],
      ['floor server (bare Nest + pg)', readsRan ? 'after serving the same reads' : 'now', floorNow, 1],
      [
        'API (role api)',
        'at start, no clusters',
        fleet.rssAtStart.api,
        r2(fleet.rssAtStart.api / fleet.rssAtStart.floor),
      ],
      [
        'API (role api)',
        readsRan ? 'after the reads scenario' : 'after seeding (reads not run)',
        apiNow,
        r2(apiNow / floorNow),
      ],
      [
        'worker',
        'after its first sync cycle',
        workerAfterFirst,
        r2(workerAfterFirst / fleet.rssAtStart.floor),
      ],
      [
        'worker',
        `after ${CYCLES} sync cycles (${report.clusters ?? '?'} clusters each)`,
        workerNow,
        r2(workerNow / fleet.rssAtStart.floor),
      ],
    ];
    return {
      key: 'memory',
      title: `Memory — resident size (VmRSS, MiB) at ${fleet.clusters.toLocaleString('en')} clusters, ${fleet.pools.toLocaleString('en')} pools, ${fleet.nodes.toLocaleString('en')} nodes`,
      markdown: table(
        [
          'process',
          'when',
          'RSS MiB',
          '÷ floor server (API after reads: floor after reads; others: floor at start)',
        ],
        rows,
      ),
      data: rows,
      ok: true,
    };
  } finally {
    await worker.stop();
  }
}
