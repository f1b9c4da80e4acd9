/**
 * The reliability invariants, checked against Postgres and the simulators' own view:
 * "no orphan on either side, every operation terminal, nothing duplicated".
 *
 * The remote side is read through the simulators' public API (`/v3` for rke1 backends, steve
 * `/v1` for rke2 ones), so these calls appear in a simulator's call log: assert on call logs
 * before calling these.
 */
import assert from 'node:assert/strict';
import type { TestPaddock } from './paddock';
import type { TestSimulator } from './simulator';

const LABEL_MANAGED = 'paddock.dev/managed';
const LABEL_CLUSTER = 'paddock.dev/cluster-id';
const LABEL_POOL = 'paddock.dev/pool-id';
const GONE = ['deleted', 'failed'];

export interface OrphanCheckOptions {
  /** Keep re-checking this long (objects `removing` on a backend take a while to disappear). */
  timeoutMs?: number;
  /**
   * Paddock cluster ids (or ids that are only labels on the backend) a test made drift on purpose;
   * both sides are skipped for them.
   */
  skipClusterIds?: string[];
}

interface RemoteObject {
  id: string;
  state: string;
  clusterId?: string;
  labels?: Record<string, string>;
  /** rke2 machine pools: the name of the machine config the pool's `machineConfigRef` names. */
  configName?: string;
  /** rke2 machine configs: their name (the id is `<namespace>/<name>`). */
  name?: string;
}

/** Every operation row is `succeeded` or `failed`. */
export async function assertAllOperationsTerminal(paddock: TestPaddock): Promise<void> {
  const { rows } = await paddock.db.query(
    `SELECT id, type, state, phase FROM operations WHERE state NOT IN ('succeeded', 'failed') ORDER BY created_at`,
  );
  assert.deepEqual(rows, [], `operations not terminal: ${JSON.stringify(rows)}`);
}

/** Waits until no operation is pending or running, then asserts it. */
export async function waitForAllOperationsTerminal(paddock: TestPaddock, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await paddock.db.query(
      `SELECT count(*)::int AS n FROM operations WHERE state NOT IN ('succeeded', 'failed')`,
    );
    if (rows[0].n === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await assertAllOperationsTerminal(paddock);
}

/** The Paddock-labelled clusters and pools of an rke1 backend (`/v3`). */
async function rke1Objects(
  sim: TestSimulator,
): Promise<{ clusters: RemoteObject[]; pools: RemoteObject[]; configs: RemoteObject[] }> {
  return {
    clusters: await listAll(sim, '/v3/clusters'),
    pools: await listAll(sim, '/v3/nodepools'),
    configs: [],
  };
}

interface SteveThing {
  id: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    state?: { name?: string };
  };
  spec?: {
    rkeConfig?: {
      machinePools?: Array<{
        name: string;
        machineConfigRef?: { name?: string };
        machineDeploymentLabels?: Record<string, string>;
      }>;
    };
  };
}

/**
 * The clusters, machine pools (as pools, with Paddock's ids `<cluster>/<pool>`) and machine
 * configs (as pools too: each must belong to a live Paddock pool) of an rke2 backend (`/v1`).
 */
async function rke2Objects(
  sim: TestSimulator,
): Promise<{ clusters: RemoteObject[]; pools: RemoteObject[]; configs: RemoteObject[] }> {
  const response = await sim.rancher<{ data: SteveThing[] }>('GET', '/v1/provisioning.cattle.io.clusters');
  assert.equal(
    response.status,
    200,
    `GET /v1/provisioning.cattle.io.clusters on ${sim.url} → ${response.status}`,
  );
  const stateOf = (o: SteveThing) =>
    o.metadata.deletionTimestamp ? 'removing' : (o.metadata.state?.name ?? '');
  const clusters = response.body.data.map((c) => ({
    id: c.id,
    state: stateOf(c),
    labels: c.metadata.labels ?? {},
  }));
  const pools = response.body.data.flatMap((c) =>
    (c.spec?.rkeConfig?.machinePools ?? []).map((p) => ({
      id: `${c.id}/${p.name}`,
      clusterId: c.id,
      state: stateOf(c),
      labels: p.machineDeploymentLabels ?? {},
      configName: p.machineConfigRef?.name,
    })),
  );
  const configsResponse = await sim.rancher<{ data: SteveThing[] }>(
    'GET',
    '/v1/rke-machine-config.cattle.io.openstackconfigs',
  );
  const configs =
    configsResponse.status === 200
      ? configsResponse.body.data
          .filter((c) => !c.metadata.deletionTimestamp)
          .map((c) => ({
            id: c.id,
            name: c.metadata.name,
            state: stateOf(c),
            labels: c.metadata.labels ?? {},
          }))
      : [];
  return { clusters, pools, configs };
}

async function listAll(sim: TestSimulator, path: string): Promise<RemoteObject[]> {
  const response = await sim.rancher<{ data: RemoteObject[] }>('GET', `${path}?limit=-1`);
  assert.equal(response.status, 200, `GET ${path} on ${sim.url} → ${response.status}`);
  return response.body.data;
}

/** The problems found in one pass; empty when the invariants hold. */
export async function findOrphans(
  paddock: TestPaddock,
  sims: TestSimulator[],
  options: OrphanCheckOptions = {},
): Promise<string[]> {
  const skip = new Set(options.skipClusterIds ?? []);
  const problems: string[] = [];
  const { rows: backends } = await paddock.db.query(`SELECT id, name, url, kind FROM backends`);
  for (const sim of sims) {
    const backend = backends.find((b) => b.url.replace(/\/$/, '') === sim.url.replace(/\/$/, ''));
    if (!backend) {
      problems.push(`no backend registered for ${sim.url}`);
      continue;
    }
    const where = `backend ${backend.name}`;
    const { rows: clusters } = await paddock.db.query(
      `SELECT id, name, state, rancher_id FROM clusters WHERE backend_id = $1`,
      [backend.id],
    );
    const { rows: pools } = await paddock.db.query(
      `SELECT p.id, p.name, p.state, p.rancher_id, p.cluster_id FROM node_pools p JOIN clusters c ON c.id = p.cluster_id
       WHERE c.backend_id = $1`,
      [backend.id],
    );
    const remote = backend.kind === 'rke2' ? await rke2Objects(sim) : await rke1Objects(sim);
    const ours = (o: RemoteObject) =>
      o.labels?.[LABEL_MANAGED] === 'true' || Boolean(o.labels?.[LABEL_CLUSTER]);
    const remoteClusters = remote.clusters.filter(ours);
    const remotePools = remote.pools.filter((p) => ours(p) || Boolean(p.labels?.[LABEL_POOL]));
    const ownConfigs = remote.configs.filter(ours);
    // rke2: every machine config Paddock made belongs to a live pool of a live cluster.
    for (const config of ownConfigs) {
      const owner = config.labels?.[LABEL_CLUSTER] ?? '';
      if (skip.has(owner)) continue;
      const pool = pools.find((p) => p.id === config.labels?.[LABEL_POOL]);
      const cluster = clusters.find((c) => c.id === owner);
      if (!pool || !cluster || GONE.includes(pool.state) || GONE.includes(cluster.state))
        problems.push(
          `${where}: machine config ${config.id} outlives its pool ${config.labels?.[LABEL_POOL]}`,
        );
    }

    const byClusterLabel = new Map<string, RemoteObject[]>();
    for (const rc of remoteClusters) {
      const key = rc.labels?.[LABEL_CLUSTER] ?? '';
      byClusterLabel.set(key, [...(byClusterLabel.get(key) ?? []), rc]);
    }
    const byPoolLabel = new Map<string, RemoteObject[]>();
    for (const rp of remotePools) {
      const key = rp.labels?.[LABEL_POOL] ?? '';
      byPoolLabel.set(key, [...(byPoolLabel.get(key) ?? []), rp]);
    }
    const clusterById = new Map(clusters.map((c) => [c.id as string, c]));
    const poolById = new Map(pools.map((p) => [p.id as string, p]));

    for (const cluster of clusters) {
      if (skip.has(cluster.id)) continue;
      const remote = byClusterLabel.get(cluster.id) ?? [];
      const label = `${where}: cluster ${cluster.name} (${cluster.id}, ${cluster.state})`;
      if (GONE.includes(cluster.state)) {
        if (remote.length > 0)
          problems.push(
            `${label} still has Rancher cluster(s) ${remote.map((r) => `${r.id}[${r.state}]`).join(', ')}`,
          );
        continue;
      }
      if (remote.length !== 1) {
        problems.push(
          `${label} has ${remote.length} Rancher clusters: ${remote.map((r) => `${r.id}[${r.state}]`).join(', ')}`,
        );
      } else if (remote[0].id !== cluster.rancher_id) {
        problems.push(
          `${label} has rancher_id ${cluster.rancher_id} but the backend's cluster is ${remote[0].id}`,
        );
      } else if (remote[0].state === 'removing') {
        problems.push(`${label} is live but its Rancher cluster ${remote[0].id} is removing`);
      }
    }
    for (const [label, remote] of byClusterLabel) {
      if (skip.has(label) || clusterById.has(label)) continue;
      problems.push(
        `${where}: Rancher cluster(s) ${remote.map((r) => r.id).join(', ')} labelled ${label || '(none)'} match no Paddock cluster`,
      );
    }

    for (const pool of pools) {
      const cluster = clusterById.get(pool.cluster_id);
      if (skip.has(pool.cluster_id)) continue;
      const remote = byPoolLabel.get(pool.id) ?? [];
      const label = `${where}: pool ${cluster?.name}/${pool.name} (${pool.id}, ${pool.state})`;
      const live = !GONE.includes(pool.state) && cluster && !GONE.includes(cluster.state);
      if (!live) {
        if (remote.length > 0)
          problems.push(
            `${label} is gone in Paddock but has Rancher pool(s) ${remote.map((r) => r.id).join(', ')}`,
          );
        continue;
      }
      if (remote.length !== 1) {
        problems.push(
          `${label} has ${remote.length} Rancher pools: ${remote.map((r) => `${r.id}[${r.state}]`).join(', ')}`,
        );
      } else if (remote[0].id !== pool.rancher_id) {
        problems.push(`${label} has rancher_id ${pool.rancher_id} but the backend's pool is ${remote[0].id}`);
      } else if (remote[0].clusterId !== cluster.rancher_id) {
        problems.push(`${label} lives in Rancher cluster ${remote[0].clusterId}, not ${cluster.rancher_id}`);
      }
      // rke2: exactly one live machine config per live pool, and it is the one its machine pool
      // uses (a second copy, say from a create that landed late, is an orphan nothing removes).
      if (backend.kind !== 'rke2') continue;
      const configs = ownConfigs.filter((c) => c.labels?.[LABEL_POOL] === pool.id);
      const names = configs.map((c) => c.name).join(', ') || 'none';
      if (configs.length !== 1) {
        problems.push(`${label} has ${configs.length} live machine configs (exactly one wanted): ${names}`);
      } else if (remote.length === 1 && remote[0].configName !== configs[0].name) {
        problems.push(
          `${label}'s machine pool uses machine config ${remote[0].configName ?? '(none)'}, but the pool's live config is ${names}`,
        );
      }
    }
    for (const [label, remote] of byPoolLabel) {
      if (poolById.has(label)) continue;
      const owner = remote[0].labels?.[LABEL_CLUSTER];
      if (owner && skip.has(owner)) continue;
      problems.push(
        `${where}: Rancher pool(s) ${remote.map((r) => r.id).join(', ')} labelled ${label || '(none)'} match no Paddock pool`,
      );
    }
  }
  return problems;
}

/**
 * One Rancher cluster per live Paddock cluster and none for failed/deleted ones, one Rancher pool
 * per live Paddock pool (rke2: and one live machine config, the one the machine pool names; none
 * for a pool or cluster that is gone), nothing labelled as ours without a row, nothing duplicated. Only the
 * backends of the given simulators are checked. Re-checks until `timeoutMs` so that clusters
 * still `removing` have time to go.
 */
export async function assertNoOrphans(
  paddock: TestPaddock,
  sims: TestSimulator[],
  options: OrphanCheckOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let problems: string[] = [];
  for (;;) {
    problems = await findOrphans(paddock, sims, options);
    if (problems.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  assert.deepEqual(problems, [], `orphans or duplicates:\n  ${problems.join('\n  ')}`);
}
