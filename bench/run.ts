/**
 * `npm run bench`: starts real API and worker processes against local Postgres and Redis (fresh
 * databases) and simulators with fast timings, measures each scenario beside a floor measured in
 * the same run, prints one table per scenario and writes bench/results/latest.{json,md}.
 *
 *   1. create    create acceptance at 1, 10, 50 clients vs a bare insert route     scenarios/create.ts
 *   2. reads     GET one / list 100 at 10,000 and 50,000 clusters vs raw pg and vs /v3  scenarios/reads.ts
 *   3. fanout    1,000 creates across 3 simulators with real workers                  scenarios/fanout.ts
 *      fanout-rke2  the same on rke2 backends (simulated Rancher 2.12, provisioning v2)  scenarios/fanout.ts
 *      calls    Rancher calls per create and per sync cycle, rke1 and rke2             scenarios/calls.ts
 *   4. sync      one sync cycle at 1,000 / 5,000 / 10,000 clusters (one backend) and   scenarios/sync.ts
 *                at 50,000 (5 backends × 10,000), with the worker's RSS
 *   5. memory    RSS of API and worker at 10,000 clusters                             scenarios/memory.ts
 *   6. kube      Kubernetes API proxy: list 1,000 / watch 1,000 events / 200 watches  scenarios/kube-proxy.ts
 *   7. metrics   /metrics size and scrape time at 10,000 clusters and 50,000 nodes    scenarios/metrics.ts
 *
 * BENCH_ONLY=reads,sync runs a subset (results are then written to latest-partial.*, so a partial
 * run never overwrites the full table). Knobs: BENCH_DURATION_S (8), BENCH_CREATE_CLIENTS,
 * BENCH_READ_CLIENTS, BENCH_FANOUT_CREATES / _WORKERS / _CLIENTS / _TIMEOUT_S, BENCH_SYNC_SIZES,
 * BENCH_SYNC_CYCLES, BENCH_SYNC_PAGE_SIZE, BENCH_SCALE_BACKENDS (backends of 10,000 clusters at the
 * many-backend point of sync and reads, 5; 1 = no such point), BENCH_CPU_PROF=<dir> (API of the create scenario under --cpu-prof),
 * BENCH_KUBE_OBJECTS / _LIST_ROUNDS / _WATCH_ROUNDS / _WATCHES, BENCH_METRICS_CLUSTERS /
 * _NODES_PER_CLUSTER / _SCRAPES.
 */
import 'reflect-metadata';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { callsScenario } from './scenarios/calls';
import { createScenario } from './scenarios/create';
import { fanoutScenario } from './scenarios/fanout';
import { kubeProxyScenario } from './scenarios/kube-proxy';
import { Fleet, startFleet } from './scenarios/fleet';
import { memoryScenario } from './scenarios/memory';
import { metricsScenario } from './scenarios/metrics';
import { readsScenario } from './scenarios/reads';
import { syncScenario } from './scenarios/sync';
import { DURATION_S, ScenarioResult, cleanupAll } from './support';

const ALL = [
  'create',
  'reads',
  'fanout',
  'fanout-rke2',
  'calls',
  'sync',
  'memory',
  'kube',
  'metrics',
] as const;
type Name = (typeof ALL)[number];
const FLEET_SIZE = 10_000;
/** The many-backend point of sync and reads: this many backends of FLEET_SIZE clusters each. */
const SCALE_BACKENDS = Number(process.env.BENCH_SCALE_BACKENDS ?? 5);

function selected(): Name[] {
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!only || only.length === 0) return [...ALL];
  const unknown = only.filter((s) => !(ALL as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`BENCH_ONLY: unknown scenario(s) ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
  return ALL.filter((s) => only.includes(s));
}

function print(result: ScenarioResult, seconds: number): string {
  const md = `## ${result.title}\n\n${result.markdown}\n\n_${result.ok ? 'checks passed' : '✗ a check failed (see ✗ above)'}; ${Math.round(seconds)} s._\n`;
  console.log(`\n${md}`);
  return md;
}

async function main(): Promise<void> {
  const names = selected();
  const started = Date.now();
  const results: ScenarioResult[] = [];
  const sections: string[] = [];
  /** Seconds spent per scenario key (the sync and reads measure in two parts, around memory). */
  const spent: Record<string, number> = {};
  const timed = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      spent[key] = (spent[key] ?? 0) + (Date.now() - t) / 1000;
    }
  };
  const report = (result: ScenarioResult) => {
    results.push(result);
    sections.push(print(result, spent[result.key] ?? 0));
  };
  const run = async (fn: () => Promise<ScenarioResult>) => {
    const t = Date.now();
    const result = await fn();
    spent[result.key] = (Date.now() - t) / 1000;
    report(result);
  };

  if (names.includes('create')) await run(createScenario);
  if (names.includes('fanout')) await run(() => fanoutScenario('rke1'));
  if (names.includes('fanout-rke2')) await run(() => fanoutScenario('rke2'));
  if (names.includes('calls')) await run(callsScenario);
  if (names.includes('kube')) await run(kubeProxyScenario);
  if (names.includes('metrics')) await run(metricsScenario);
  if (names.includes('reads') || names.includes('sync') || names.includes('memory')) {
    const fleet: Fleet = await startFleet();
    try {
      const sync = names.includes('sync') ? syncScenario() : undefined;
      const reads = names.includes('reads') ? readsScenario() : undefined;
      // The sync grows the fleet to each size in turn; without it, seed the full fleet at once.
      if (sync) await timed('sync', () => sync.measureSizes(fleet));
      await fleet.growTo(FLEET_SIZE);
      if (reads) await timed('reads', () => reads.measure(fleet));
      const memory = names.includes('memory')
        ? await timed('memory', () => memoryScenario(fleet, reads !== undefined))
        : undefined;
      // The many-backend point last: the memory scenario and the 10,000 rows want one backend alone.
      if ((sync || reads) && SCALE_BACKENDS > 1) {
        const t = Date.now();
        await fleet.addBackends(SCALE_BACKENDS - 1, FLEET_SIZE);
        const seeded = Math.round((Date.now() - t) / 1000);
        console.log(
          `\n(${SCALE_BACKENDS - 1} more simulators of ${FLEET_SIZE.toLocaleString('en')} clusters started, seeded and mirrored in ${seeded} s)`,
        );
        if (sync) await timed('sync', () => sync.measureAllBackends(fleet));
        if (reads) await timed('reads', () => reads.measure(fleet));
      }
      if (sync) report(sync.result());
      if (reads) report(reads.result());
      if (memory) report(memory);
    } finally {
      await fleet.close();
    }
  }

  const total = Math.round((Date.now() - started) / 1000);
  const cpu = os.cpus();
  const machine = `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, Node ${process.version}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
  const header = `# Paddock benchmark\n\n\`npm run bench\` on ${new Date().toISOString().slice(0, 10)} — ${machine}; ${DURATION_S} s per load point; whole run ${total} s. Every figure has a floor measured in the same run beside it; on a shared machine compare the ratios, not the absolute numbers.\n`;
  const md = [header, ...sections].join('\n');
  const partial = names.length < ALL.length;
  const out = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const base = partial ? 'latest-partial' : 'latest';
  writeFileSync(
    join(out, `${base}.json`),
    JSON.stringify(
      {
        at: new Date().toISOString(),
        machine,
        durationSeconds: DURATION_S,
        wallSeconds: total,
        scenarios: Object.fromEntries(
          results.map((r) => [r.key, { title: r.title, ok: r.ok, data: r.data }]),
        ),
      },
      null,
      2,
    ),
  );
  writeFileSync(join(out, `${base}.md`), md);
  console.log(`wrote bench/results/${base}.json and ${base}.md (${total} s)`);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`${signal}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanupAll();
    process.exit(process.exitCode ?? 0);
  });
