/**
 * THE CHECKS that end every scenario of the reliability suite (issue 6):
 *   (a) quota: for every project `used + reserved <= limit` (unless its limit was lowered below
 *       usage on purpose) and the counters equal the truth recomputed from the cluster tables —
 *       both by an independent SQL count here and by the service's own reconcile pass, which must
 *       repair nothing; every backend's capacity counters equal the truth from the tables too;
 *   (b) zero orphans on either side (`assertNoOrphans`);
 *   (c) every operation terminal (`succeeded` / `failed`);
 *   (d) no duplicate Rancher objects: one Rancher cluster per Paddock cluster id label, one pool
 *       per Paddock pool id label, across all the given simulators.
 * The checks wait for (c) first: quota and capacity truths are only exact once nothing is in flight.
 */
import assert from 'node:assert/strict';
import { assertNoOrphans, waitForAllOperationsTerminal } from './invariants';
import { kindOf, type TestPaddock } from './paddock';
import type { TestSimulator } from './simulator';

const LABEL_CLUSTER = 'paddock.dev/cluster-id';
const LABEL_POOL = 'paddock.dev/pool-id';

export interface SystemCheckOptions {
  /** How long to wait for in-flight operations to end (default 60 s). */
  terminalTimeoutMs?: number;
  /** How long to keep re-checking for orphans (objects `removing` take a while; default 15 s). */
  orphanTimeoutMs?: number;
  /** Projects whose limit was lowered below usage on purpose (only `<= limit` is skipped). */
  overLimitProjects?: string[];
  /** Cluster ids made to drift on purpose (skipped by the orphan check). */
  skipClusterIds?: string[];
  /** Label for the summary line. */
  label?: string;
}

export interface SystemCheckSummary {
  projects: number;
  backends: number;
  operations: { succeeded: number; failed: number };
  remoteClusters: number;
  remotePools: number;
}

/** Quota counters vs the truth counted from the cluster tables (everything is terminal by now). */
async function quotaProblems(paddock: TestPaddock, overLimit: Set<string>): Promise<string[]> {
  const problems: string[] = [];
  const { rows } = await paddock.db.query(`
    WITH live_clusters AS (
      SELECT c.id, c.project_id FROM clusters c WHERE c.state NOT IN ('deleted', 'failed')
    ),
    live_nodes AS (
      SELECT lc.project_id, sum(np.quantity) AS nodes
      FROM live_clusters lc JOIN node_pools np ON np.cluster_id = lc.id AND np.state NOT IN ('deleted', 'failed')
      GROUP BY lc.project_id
    )
    SELECT p.name, q.clusters_limit, q.clusters_used, q.clusters_reserved,
      q.nodes_limit, q.nodes_used, q.nodes_reserved,
      (SELECT count(*) FROM live_clusters lc WHERE lc.project_id = p.id)::int AS true_clusters,
      coalesce((SELECT nodes FROM live_nodes ln WHERE ln.project_id = p.id), 0)::int AS true_nodes
    FROM projects p JOIN project_quotas q ON q.project_id = p.id ORDER BY p.name`);
  for (const r of rows as any[]) {
    for (const res of ['clusters', 'nodes'] as const) {
      const used = r[`${res}_used`];
      const reserved = r[`${res}_reserved`];
      const limit = r[`${res}_limit`];
      const truth = r[`true_${res}`];
      if (!overLimit.has(r.name) && used + reserved > limit)
        problems.push(`project ${r.name}: ${res} used ${used} + reserved ${reserved} > limit ${limit}`);
      if (used !== truth || reserved !== 0)
        problems.push(
          `project ${r.name}: ${res} counters used=${used} reserved=${reserved}, truth from the tables used=${truth} reserved=0`,
        );
    }
  }
  return problems;
}

/** Backend capacity counters vs live clusters and live pools placed on each backend. */
async function capacityProblems(paddock: TestPaddock): Promise<string[]> {
  const { rows } = await paddock.db.query(`
    SELECT b.name, b.clusters_count, b.nodes_count, b.max_clusters, b.max_nodes,
      (SELECT count(*) FROM clusters c WHERE c.backend_id = b.id AND c.state NOT IN ('deleted', 'failed'))::int
        AS true_clusters,
      (SELECT coalesce(sum(np.quantity), 0) FROM clusters c
         JOIN node_pools np ON np.cluster_id = c.id AND np.state NOT IN ('deleted', 'failed')
       WHERE c.backend_id = b.id AND c.state NOT IN ('deleted', 'failed'))::int AS true_nodes
    FROM backends b ORDER BY b.name`);
  const problems: string[] = [];
  for (const r of rows as any[]) {
    if (r.clusters_count !== r.true_clusters || r.nodes_count !== r.true_nodes)
      problems.push(
        `backend ${r.name}: counters clusters=${r.clusters_count} nodes=${r.nodes_count}, ` +
          `truth clusters=${r.true_clusters} nodes=${r.true_nodes}`,
      );
    if (r.clusters_count > r.max_clusters || r.nodes_count > r.max_nodes)
      problems.push(
        `backend ${r.name}: over capacity clusters=${r.clusters_count}/${r.max_clusters} nodes=${r.nodes_count}/${r.max_nodes}`,
      );
  }
  return problems;
}

/** One Rancher object per Paddock id label, across every simulator (a copy on another backend counts). */
async function duplicateProblems(
  sims: TestSimulator[],
): Promise<{ problems: string[]; clusters: number; pools: number }> {
  const clusters = new Map<string, string[]>();
  const pools = new Map<string, string[]>();
  for (const sim of sims) {
    if (kindOf(sim as { version?: string }) === 'rke2') {
      // rke2: provisioning clusters, with their machine pools inline.
      const path = '/v1/provisioning.cattle.io.clusters';
      const response = await sim.rancher<{ data: any[] }>('GET', path);
      assert.equal(response.status, 200, `GET ${path} on ${sim.url} → ${response.status}`);
      for (const c of response.body.data) {
        const state = c.metadata.deletionTimestamp ? 'removing' : c.metadata.state?.name;
        const id = c.metadata.labels?.[LABEL_CLUSTER];
        if (id) clusters.set(id, [...(clusters.get(id) ?? []), `${sim.url}${path}/${c.id}[${state}]`]);
        for (const p of c.spec?.rkeConfig?.machinePools ?? []) {
          const poolId = p.machineDeploymentLabels?.[LABEL_POOL];
          if (poolId)
            pools.set(poolId, [...(pools.get(poolId) ?? []), `${sim.url}${path}/${c.id}/${p.name}`]);
        }
      }
      continue;
    }
    for (const [path, label, into] of [
      ['/v3/clusters', LABEL_CLUSTER, clusters],
      ['/v3/nodepools', LABEL_POOL, pools],
    ] as const) {
      const response = await sim.rancher<{ data: any[] }>('GET', `${path}?limit=-1`);
      assert.equal(response.status, 200, `GET ${path} on ${sim.url} → ${response.status}`);
      for (const o of response.body.data) {
        const id = o.labels?.[label];
        if (!id) continue;
        into.set(id, [...(into.get(id) ?? []), `${sim.url}${path}/${o.id}[${o.state}]`]);
      }
    }
  }
  const problems: string[] = [];
  for (const [kind, map] of [
    ['cluster', clusters],
    ['pool', pools],
  ] as const)
    for (const [id, copies] of map)
      if (copies.length > 1)
        problems.push(`Paddock ${kind} ${id} has ${copies.length} Rancher objects: ${copies.join(', ')}`);
  return { problems, clusters: clusters.size, pools: pools.size };
}

/**
 * Asserts (a)–(d) for the whole Paddock and the given simulators (every simulator registered as
 * one of its backends). Returns a small summary for the scenario's log line.
 */
export async function assertSystemInvariants(
  paddock: TestPaddock,
  sims: TestSimulator[],
  options: SystemCheckOptions = {},
): Promise<SystemCheckSummary> {
  const started = Date.now();
  // (c) first: the other truths are exact only once nothing is in flight.
  await waitForAllOperationsTerminal(paddock, options.terminalTimeoutMs ?? 60_000);

  // (b) zero orphans (and, per backend, exactly one remote object per live row).
  await assertNoOrphans(paddock, sims, {
    timeoutMs: options.orphanTimeoutMs ?? 15_000,
    skipClusterIds: options.skipClusterIds,
  });

  // (d) no duplicates, across backends too.
  const dup = await duplicateProblems(sims);
  assert.deepEqual(dup.problems, [], `duplicate Rancher objects:\n  ${dup.problems.join('\n  ')}`);

  // (a) quota and capacity counters against the tables, then the service's own reconcile pass.
  const quota = await quotaProblems(paddock, new Set(options.overLimitProjects ?? []));
  const capacity = await capacityProblems(paddock);
  assert.deepEqual(
    [...quota, ...capacity],
    [],
    `counters disagree with the tables:\n  ${[...quota, ...capacity].join('\n  ')}`,
  );
  const reconcile = await paddock.request('POST', '/v1/admin/quotas/reconcile');
  assert.equal(reconcile.status, 200, `reconcile → ${reconcile.status} ${JSON.stringify(reconcile.body)}`);
  assert.deepEqual(
    reconcile.body.repaired,
    [],
    `the quota reconcile had to repair: ${JSON.stringify(reconcile.body.repaired)}`,
  );

  const { rows } = await paddock.db.query(
    `SELECT count(*) FILTER (WHERE state = 'succeeded')::int AS succeeded,
            count(*) FILTER (WHERE state = 'failed')::int AS failed,
            (SELECT count(*) FROM backends)::int AS backends
     FROM operations`,
  );
  const summary: SystemCheckSummary = {
    projects: reconcile.body.checkedProjects,
    backends: rows[0].backends,
    operations: { succeeded: rows[0].succeeded, failed: rows[0].failed },
    remoteClusters: dup.clusters,
    remotePools: dup.pools,
  };
  console.log(
    `[checks${options.label ? ` ${options.label}` : ''}] ok in ${Date.now() - started} ms: ${JSON.stringify(summary)}`,
  );
  return summary;
}
