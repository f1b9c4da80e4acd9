/** Shared set-up for the simulator's own tests: quick timings and common object graphs. */
import type { SimulatorTimings } from '../../sim/simulator';
import { waitFor, waitForState, type TestSimulator } from '../support/simulator';

/** Every step in tens of milliseconds so a whole lifecycle fits in well under a second. */
export const QUICK: SimulatorTimings = {
  permissionWindowMs: 150,
  poolReconcileMs: 10,
  nodeProvisionMs: 60,
  nodeRegisterMs: 40,
  nodeFailedReplaceMs: 5_000,
  nodeDeleteMs: 60,
  nodeDrainMs: 60,
  clusterProvisionMs: 40,
  clusterConnectMs: 40,
  clusterUpdateMs: 80,
  clusterDeleteMs: 80,
  tokenFillMs: 40,
  etcdBackupMs: 60,
  // Recurring backups only where a test asks for them (12 simulated hours is 12 minutes here).
  backupHourMs: 60_000,
  objectDeleteMs: 40,
  fleetReconcileMs: 20,
  fleetApplyMs: 60,
  fleetReadyMs: 40,
  fleetUninstallMs: 60,
  kubeStreamMaxMs: 60_000,
};

export const TEMPLATE = { name: 'm1.large', driver: 'openstack' };

export function templateId(sim: TestSimulator): string {
  return sim.nodeTemplates[0].id;
}

export async function createCluster(
  sim: TestSimulator,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const response = await sim.rancher('POST', '/v3/clusters', {
    name,
    rancherKubernetesEngineConfig: { network: { plugin: 'canal' } },
    ...extra,
  });
  if (response.status !== 201)
    throw new Error(`create cluster ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Waits out the permission window (§11.9), then creates the pool. */
export async function createPool(
  sim: TestSimulator,
  clusterId: string,
  pool: Record<string, unknown>,
): Promise<any> {
  await waitFor(
    async () => {
      const cluster = (await sim.rancher('GET', `/v3/clusters/${clusterId}`)).body;
      return cluster.conditions.some((c: any) => c.type === 'InitialRolesPopulated' && c.status === 'True');
    },
    { what: `InitialRolesPopulated on ${clusterId}` },
  );
  const response = await sim.rancher('POST', '/v3/nodepools', {
    clusterId,
    nodeTemplateId: templateId(sim),
    hostnamePrefix: 'n-',
    ...pool,
  });
  if (response.status !== 201)
    throw new Error(`create pool: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A cluster with one all-roles pool of `quantity` nodes, once it reads `active`. */
export async function createActiveCluster(
  sim: TestSimulator,
  name: string,
  quantity = 1,
): Promise<{ cluster: any; pool: any }> {
  const cluster = await createCluster(sim, name);
  const pool = await createPool(sim, cluster.id, {
    hostnamePrefix: `${name}-`,
    quantity,
    etcd: true,
    controlPlane: true,
    worker: true,
  });
  return { cluster: await waitForState(sim, `/v3/clusters/${cluster.id}`, 'active'), pool };
}

export async function listNodes(sim: TestSimulator, query: string): Promise<any[]> {
  return (await sim.rancher('GET', `/v3/nodes?${query}`)).body.data;
}

export function hostnames(nodes: any[]): string[] {
  return nodes.map((node) => node.requestedHostname).sort();
}

export const CLUSTERS_V1 = '/v1/provisioning.cattle.io.clusters';
export const MACHINES_V1 = '/v1/cluster.x-k8s.io.machines';
export const OPENSTACK_CONFIGS = '/v1/rke-machine-config.cattle.io.openstackconfigs';

/** `POST` of an OpenStack machine config in fleet-default, named from `prefix`. */
export async function createMachineConfig(sim: TestSimulator, prefix: string): Promise<any> {
  const response = await sim.rancher('POST', OPENSTACK_CONFIGS, {
    metadata: { generateName: prefix, namespace: 'fleet-default' },
    flavorName: 'm1.large',
    imageName: 'ubuntu-22.04',
  });
  if (response.status !== 201)
    throw new Error(`create machine config: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** A provisioning v2 cluster body with one pool per `[name, quantity, roles]`. */
export function v2ClusterBody(
  name: string,
  configName: string,
  pools: Array<[string, number, Array<'etcd' | 'controlPlane' | 'worker'>]> = [
    ['pool1', 1, ['etcd', 'controlPlane', 'worker']],
  ],
  kubernetesVersion = 'v1.31.9+rke2r1',
): Record<string, unknown> {
  return {
    type: 'provisioning.cattle.io.cluster',
    metadata: { name, namespace: 'fleet-default' },
    spec: {
      kubernetesVersion,
      rkeConfig: {
        machinePools: pools.map(([pool, quantity, roles]) => ({
          name: pool,
          quantity,
          etcdRole: roles.includes('etcd'),
          controlPlaneRole: roles.includes('controlPlane'),
          workerRole: roles.includes('worker'),
          machineConfigRef: { kind: 'OpenstackConfig', name: configName },
        })),
      },
    },
  };
}

/** Creates a machine config and a v2 cluster on it; returns the cluster's POST answer. */
export async function createV2Cluster(
  sim: TestSimulator,
  name: string,
  pools?: Array<[string, number, Array<'etcd' | 'controlPlane' | 'worker'>]>,
  kubernetesVersion?: string,
): Promise<any> {
  const config = await createMachineConfig(sim, `nc-${name}-`);
  const response = await sim.rancher(
    'POST',
    CLUSTERS_V1,
    v2ClusterBody(name, config.metadata.name, pools, kubernetesVersion),
  );
  if (response.status !== 201)
    throw new Error(`create v2 cluster ${name}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/** Records every distinct steve state `path` passes through until it reaches `final`. */
export async function steveStatesUntil(sim: TestSimulator, path: string, final: string): Promise<string[]> {
  const states: string[] = [];
  await waitFor(
    async () => {
      const { status, body } = await sim.rancher('GET', path);
      const state = status === 200 ? body.metadata.state.name : `HTTP ${status}`;
      if (states[states.length - 1] !== state) states.push(state);
      return state === final;
    },
    { intervalMs: 5, what: () => `${path} to reach ${final} (saw ${states.join(' → ')})` },
  );
  return states;
}

/** The live machines of a v2 cluster, by the CAPI cluster-name label. */
export async function machinesOf(sim: TestSimulator, cluster: string): Promise<any[]> {
  const response = await sim.rancher(
    'GET',
    `${MACHINES_V1}/fleet-default?labelSelector=${encodeURIComponent(`cluster.x-k8s.io/cluster-name=${cluster}`)}`,
  );
  return response.body.data;
}
