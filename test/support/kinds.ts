/**
 * What Paddock does on each backend kind that several test files assert: the steps of a create,
 * the paged lists of one status-sync cycle and the health probe's reads. rke1 speaks norman `/v3`
 * (Rancher ≤ 2.11); rke2 speaks steve `/v1` provisioning v2 (from 2.6, and the only way from 2.12).
 */
export type BackendKind = 'rke1' | 'rke2';

export const BACKEND_KINDS = ['rke1', 'rke2'] as const;

/** The simulated Rancher of each kind in the suites: the simulator's default 2.11, and a 2.12. */
export const KIND_VERSIONS: Record<BackendKind, string | undefined> = { rke1: undefined, rke2: 'v2.12.3' };

/**
 * The steps of a create with these pools. `ensure-bucket` makes the backup bucket first (without
 * S3 settings it writes nothing); rke1 then makes the cluster, waits for its roles and adds one
 * pool each; rke2 makes one machine config per pool, then the cluster with the pools inline, whose
 * ids the `create-node-pool` steps record.
 */
export function createSteps(kind: BackendKind, pools: string[]): string[] {
  return kind === 'rke1'
    ? [
        'ensure-bucket',
        'create-cluster',
        'await-roles',
        ...pools.map((p) => `create-node-pool:${p}`),
        'await-active',
      ]
    : [
        'ensure-bucket',
        ...pools.map((p) => `create-machine-config:${p}`),
        'create-cluster',
        ...pools.map((p) => `create-node-pool:${p}`),
        'await-active',
      ];
}

/** What one status-sync cycle lists (paths without the query); the first, the nodes, once per cycle. */
export const SYNC_LISTS: Record<BackendKind, string[]> = {
  rke1: ['/v3/nodes', '/v3/clusters', '/v3/nodepools', '/v3/etcdbackups'],
  rke2: [
    '/v1/cluster.x-k8s.io.machines/fleet-default',
    // The nodes' kubelet Ready, joined to the machines (across every cluster, by page).
    '/v1/management.cattle.io.nodes',
    '/v1/provisioning.cattle.io.clusters/fleet-default',
    // The management twins.
    '/v3/clusters',
    '/v1/rke.cattle.io.etcdsnapshots/fleet-default',
  ],
};

/** What the health probe reads on its own period, the default version last. */
export const PROBE_READS: Record<BackendKind, string[]> = {
  rke1: [
    '/ping',
    '/v3/settings/server-version',
    '/v3/settings/k8s-versions-current',
    '/v3/settings/k8s-version',
  ],
  rke2: [
    '/ping',
    '/v3/settings/server-version',
    '/v1-rke2-release/releases',
    '/v1-k3s-release/releases',
    '/v3/settings/rke2-default-version',
  ],
};
