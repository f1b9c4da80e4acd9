/**
 * Scenario 2, reads at 10,000 clusters across 100 projects: GET one cluster and a 100-item list
 * page, from Paddock, from the floor (the same SELECTs with raw `pg` in a bare Nest route), and
 * the same read made straight to a simulator's /v3 (what a user would otherwise call).
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

export async function readsScenario(fleet: Fleet): Promise<ScenarioResult> {
  const n = fleet.rancherIds.length;
  // A stride that is prime to n visits clusters all over the table, not the same few rows.
  const pick = (i: number) => ((i * 7919) % n) + 1;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const sanity = await fetch(`${fleet.api.url}/v1/projects/${projectOf(1)}/clusters/${clusterName(1)}`, {
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
          url: fleet.sim.url,
          connections: CLIENTS,
          headers: { authorization: `Bearer ${fleet.sim.token}` },
          path: (i) => `/v3/clusters/${fleet.rancherIds[pick(i) - 1]}`,
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
          url: fleet.sim.url,
          connections: CLIENTS,
          headers: { authorization: `Bearer ${fleet.sim.token}` },
          path: () => `/v3/clusters?limit=100`,
        }),
    },
  ];
  const rows: Array<{ read: string; who: string; result: Measured }> = [];
  for (const t of targets) rows.push({ read: t.read, who: t.who, result: await t.run() });

  const paddockOf = (read: string) => rows.find((r) => r.read === read && r.who === 'Paddock')!.result;
  const ok = rows.every((r) => r.result.non2xx + r.result.errors === 0);
  const md = table(
    [
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
      r.read,
      r.who,
      r.result.p50,
      r.result.p99,
      r.result.rps,
      r.who === 'Paddock' ? '—' : ratio(paddockOf(r.read).p99, r.result.p99),
      r.who === 'Paddock' ? '—' : ratio(paddockOf(r.read).rps, r.result.rps),
      `${r.result.non2xx}${r.result.non2xx > 0 ? ` [${describeFailures(r.result.failures)}]` : ''} / ${r.result.errors}${r.result.non2xx + r.result.errors > 0 ? ' ✗' : ''}`,
    ]),
  );
  return {
    key: 'reads',
    title: `Reads — ${n.toLocaleString('en')} active clusters across ${PROJECTS} projects, 2 pools each (${CLIENTS} clients, ${DURATION_S} s per row)`,
    markdown: md,
    data: { clusters: n, clients: CLIENTS, rows },
    ok,
  };
}
