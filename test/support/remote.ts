/**
 * What a backend holds, read through the simulator's own public API in each kind's shapes and
 * brought to one form, so that a test asserts the same thing on both kinds: rke1 (norman `/v3`
 * clusters, node pools and nodes) and rke2 (steve `/v1` provisioning clusters with their machine
 * pools inline, and CAPI machines as nodes). Ids are those Paddock stores as `rancher_id`: the
 * `/v3` id on rke1; `fleet-default/<name>` for a cluster and `fleet-default/<cluster>/<pool>` for a
 * pool on rke2. These reads appear in the simulator's call log.
 */
import assert from 'node:assert/strict';
import type { BackendKind } from './kinds';
import type { TestSimulator } from './simulator';

export interface RemotePool {
  id: string;
  clusterId: string;
  quantity: number;
  /** `removing` once Rancher is deleting it (rke2: once its cluster is). */
  state: string;
  labels: Record<string, string>;
}

export interface RemoteNode {
  id: string;
  poolId: string | null;
  hostname: string;
  /** `active` once it runs (rke2: phase `Running` with a `nodeRef`). */
  state: string;
}

const PROVISIONING = '/v1/provisioning.cattle.io.clusters';
const MACHINES = '/v1/cluster.x-k8s.io.machines';
const MACHINE_POOL_LABEL = 'rke.cattle.io/rke-machine-pool-name';
const MACHINE_CLUSTER_LABEL = 'cluster.x-k8s.io/cluster-name';

async function list(sim: TestSimulator, path: string): Promise<any[]> {
  const response = await sim.rancher<{ data: any[] }>('GET', path);
  assert.equal(response.status, 200, `GET ${path} on ${sim.url} → ${response.status}`);
  return response.body.data;
}

const steveState = (o: any): string =>
  o.metadata?.deletionTimestamp ? 'removing' : (o.metadata?.state?.name ?? '');

/** The cluster object itself (rke1 `/v3/clusters/<id>`, rke2 the provisioning cluster). */
export function remoteCluster(sim: TestSimulator, kind: BackendKind, rancherId: string) {
  return sim.rancher('GET', kind === 'rke1' ? `/v3/clusters/${rancherId}` : `${PROVISIONING}/${rancherId}`);
}

/** Every cluster object, with its state (`removing` while Rancher deletes it). */
export async function remoteClusters(
  sim: TestSimulator,
  kind: BackendKind,
): Promise<Array<{ id: string; state: string; labels: Record<string, string> }>> {
  if (kind === 'rke1')
    return (await list(sim, '/v3/clusters?limit=-1')).map((c) => ({
      id: c.id,
      state: c.state,
      labels: c.labels ?? {},
    }));
  return (await list(sim, PROVISIONING)).map((c) => ({
    id: c.id,
    state: steveState(c),
    labels: c.metadata?.labels ?? {},
  }));
}

/** The node pools (rke2: machine pools) of one cluster, or of every cluster. */
export async function remotePools(
  sim: TestSimulator,
  kind: BackendKind,
  clusterRancherId?: string,
): Promise<RemotePool[]> {
  if (kind === 'rke1') {
    const query = clusterRancherId ? `clusterId=${clusterRancherId}&limit=-1` : 'limit=-1';
    return (await list(sim, `/v3/nodepools?${query}`)).map((p) => ({
      id: p.id,
      clusterId: p.clusterId,
      quantity: p.quantity,
      state: p.state,
      labels: p.labels ?? {},
    }));
  }
  const clusters = (await list(sim, PROVISIONING)).filter(
    (c) => clusterRancherId === undefined || c.id === clusterRancherId,
  );
  return clusters.flatMap((c) =>
    (c.spec?.rkeConfig?.machinePools ?? []).map((p: any): RemotePool => ({
      id: `${c.id}/${p.name}`,
      clusterId: c.id,
      quantity: p.quantity,
      state: steveState(c),
      // Paddock's labels ride on the pool's machine deployment.
      labels: p.machineDeploymentLabels ?? {},
    })),
  );
}

/** The nodes (rke2: CAPI machines) of one cluster, or of every cluster. */
export async function remoteNodes(
  sim: TestSimulator,
  kind: BackendKind,
  clusterRancherId?: string,
): Promise<RemoteNode[]> {
  if (kind === 'rke1') {
    const query = clusterRancherId ? `clusterId=${clusterRancherId}&limit=-1` : 'limit=-1';
    return (await list(sim, `/v3/nodes?${query}`)).map((n) => ({
      id: n.id,
      poolId: n.nodePoolId ?? null,
      hostname: n.hostname ?? n.requestedHostname ?? n.nodeName,
      state: n.state,
    }));
  }
  return (await list(sim, MACHINES))
    .filter((m) => {
      const cluster = `${m.metadata.namespace}/${m.spec?.clusterName ?? m.metadata.labels?.[MACHINE_CLUSTER_LABEL]}`;
      return clusterRancherId === undefined || cluster === clusterRancherId;
    })
    .map((m) => {
      const cluster = `${m.metadata.namespace}/${m.spec?.clusterName ?? m.metadata.labels?.[MACHINE_CLUSTER_LABEL]}`;
      const pool = m.metadata.labels?.[MACHINE_POOL_LABEL];
      const running = m.status?.phase === 'Running' && Boolean(m.status?.nodeRef?.name);
      return {
        id: m.id,
        poolId: pool ? `${cluster}/${pool}` : null,
        hostname: m.status?.nodeRef?.name || m.metadata.name,
        state: m.metadata.deletionTimestamp ? 'removing' : running ? 'active' : steveState(m),
      };
    });
}

/** rke2: Paddock's live OpenStack machine configs (those not being deleted), with their labels. */
export async function remoteMachineConfigs(
  sim: TestSimulator,
): Promise<Array<{ name: string; labels: Record<string, string> }>> {
  return (await list(sim, '/v1/rke-machine-config.cattle.io.openstackconfigs'))
    .filter((c) => !c.metadata?.deletionTimestamp && c.metadata?.labels?.['paddock.dev/managed'] === 'true')
    .map((c) => ({ name: c.metadata.name, labels: c.metadata.labels }));
}
