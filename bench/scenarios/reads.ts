/**
 * Scenario 2, reads at 10,000 clusters across 100 projects (one backend), then at 50,000 (5
 * backends of 10,000): GET one cluster and a 100-item list page, from Paddock, from the floor (the
 * same SELECTs with raw `pg` in a bare Nest route), and the same read made straight to a
 * simulator's /v3 (what a user would otherwise call; the first backend's, which holds 10,000).
 */
import {
  ADMIN_TOKEN,
  DURATION_S,
  Measured,
  ScenarioResult,
  describeFailures,
  load,
  ratio,
  table,
} from '../support';
import { Fleet, PROJECTS, clusterName, projectName, projectOf } from './fleet';

const CLIENTS = Number(process.env.BENCH_READ_CLIENTS ?? 10);

type Row = { clusters: number; read: string; who: string; result: Measured };

/** The rows of one fleet size. */
async function measureReads(fleet: Fleet): Promise<Row[]> {
  const n = fleet.clusters;
  const first = fleet.backends[0];
  // A stride that is prime to n visits clusters all over the table, not the same few rows.
  const pick = (i: number) => ((i * 7919) % n) + 1;
  const pickOnSim = (i: number) => first.rancherIds[(i * 7919) % first.rancherIds.length];
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const sanity = await fetch(`${fleet.api.url}/v1/projects/${projectOf(n)}/clusters/${clusterName(n)}`, {
    headers: auth,
  });
  if (sanity.status !== 200)
    throw new Error(`reads: GET one cluster → ${sanity.status} ${await sanity.text()}`);
  const listed = (await (
    await fetch(`${fleet.api.url}/v1/projects/${projectName(0)}/clusters?limit=100`, { headers: auth })
  ).json()) as { items: unknown[] };
  if (listed.items.length !== 100) throw new Error(`reads: list page has ${listed.items.length} items`);

  const targets: Array<{ read: string; who: string; run: () => Promise<Measured> }> = [
    {
      read: 'GET one cluster',
      who: 'Paddock',
      run: () =>
        load({
          url: fleet.api.url,
          connections: CLIENTS,
          headers: auth,
          path: (i) => `/v1/projects/${projectOf(pick(i))}/clusters/${clusterName(pick(i))}`,
        }),
    },
    {
      read: 'GET one cluster',
      who: 'floor (raw pg)',
      run: () =>
        load({
          url: fleet.floor.url,
          connections: CLIENTS,
          path: (i) => `/floor/projects/${projectOf(pick(i))}/clusters/${clusterName(pick(i))}`,
        }),
    },
    {
      read: 'GET one cluster',
      who: 'simulator /v3',
      run: () =>
        load({
          url: first.sim.url,
          connections: CLIENTS,
          headers: { authorization: `Bearer ${first.sim.token}` },
          path: (i) => `/v3/clusters/${pickOnSim(i)}`,
        }),
    },
    {
      read: 'list 100 clusters',
      who: 'Paddock',
      run: () =>
        load({
          url: fleet.api.url,
          connections: CLIENTS,
          headers: auth,
          path: (i) => `/v1/projects/${projectName(i % PROJECTS)}/clusters?limit=100`,
        }),
    },
    {
      read: 'list 100 clusters',
      who: 'floor (raw pg)',
      run: () =>
        load({
          url: fleet.floor.url,
          connections: CLIENTS,
          path: (i) => `/floor/projects/${projectName(i % PROJECTS)}/clusters?limit=100`,
        }),
    },
    {
      read: 'list 100 clusters',
      who: 'simulator /v3',
      run: () =>
        load({
          url: first.sim.url,
          connections: CLIENTS,
          headers: { authorization: `Bearer ${first.sim.token}` },
          path: () => `/v3/clusters?limit=100`,
        }),
    },
  ];
  const rows: Row[] = [];
  for (const t of targets) rows.push({ clusters: n, read: t.read, who: t.who, result: await t.run() });
  return rows;
}

export interface ReadsScenario {
  /** The rows at the fleet's size now (a call per size). */
  measure(fleet: Fleet): Promise<void>;
  result(): ScenarioResult;
}

export function readsScenario(): ReadsScenario {
  const rows: Row[] = [];
  const sizes: string[] = [];
  return {
    async measure(fleet) {
      sizes.push(
        `${fleet.clusters.toLocaleString('en')} (${fleet.backends.length} backend${fleet.backends.length > 1 ? 's' : ''})`,
      );
      rows.push(...(await measureReads(fleet)));
    },
    result() {
      const paddockOf = (r: Row) =>
        rows.find((p) => p.clusters === r.clusters && p.read === r.read && p.who === 'Paddock')!.result;
      const ok = rows.every((r) => r.result.non2xx + r.result.errors === 0);
      const md = table(
        [
          'clusters',
          'read',
          'served by',
          'p50 ms',
          'p99 ms',
          'req/s',
          'Paddock p99 ÷ this',
          'Paddock req/s ÷ this',
          'non-2xx / errors',
        ],
        rows.map((r) => [
          r.clusters,
          r.read,
          r.who,
          r.result.p50,
          r.result.p99,
          r.result.rps,
          r.who === 'Paddock' ? '—' : ratio(paddockOf(r).p99, r.result.p99),
          r.who === 'Paddock' ? '—' : ratio(paddockOf(r).rps, r.result.rps),
          `${r.result.non2xx}${r.result.non2xx > 0 ? ` [${describeFailures(r.result.failures)}]` : ''} / ${r.result.errors}${r.result.non2xx + r.result.errors > 0 ? ' ✗' : ''}`,
        ]),
      );
      return {
        key: 'reads',
        title: `Reads — active clusters across ${PROJECTS} projects, 2 pools each, at ${sizes.join(' and ')} (${CLIENTS} clients, ${DURATION_S} s per row; simulator /v3 = the first backend's simulator)`,
        markdown: md,
        data: { clients: CLIENTS, rows },
        ok,
      };
    },
  };
}
