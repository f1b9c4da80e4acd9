/** Every rke2 cluster, pool and node on a backend, one page at a time, for the status sync. */

import type { RemoteCluster, RemoteCondition, RemoteNode, RemoteNodePool } from '../backend-driver';
import { isBackendError } from '../backend.errors';
import { RancherClient } from '../rancher-client';
import {
  CapiMachine,
  FLEET_NAMESPACE,
  ManagementNode,
  ProvisioningCluster,
  machineIdOfNode,
  mergeConditions,
  nodeConditionsOf,
  toRemoteCluster,
  toRemoteNode,
  toRemoteNodePools,
} from '../wire/v1.types';
import { isProvisioningTwin, toRemoteCluster as toRemoteTwin, type V3Cluster } from '../wire/v3.types';
import { ROUTES } from './steve-requests';

/**
 * The provisioning clusters, then the management twins (`/v3/clusters`, paged). Rancher removes
 * a twin only after its provisioning cluster is gone (§9.3), so a twin being removed whose
 * cluster no page listed is the last of that cluster on the backend: it is reported as the
 * cluster, `removing`, instead of the cluster reading as gone (or, to an rke1 reader of the
 * same server, as an unknown cluster) while Rancher is still tearing it down. A twin that is not
 * being removed and whose cluster was not listed belongs to a cluster made after its page was
 * read; the next cycle sees it.
 */
export async function* clusterPages(client: RancherClient): AsyncGenerator<RemoteCluster[]> {
  const listed = new Set<string>();
  for await (const page of client.stevePages<ProvisioningCluster>(
    ROUTES.clustersIn,
    {},
    { namespace: FLEET_NAMESPACE },
  )) {
    const clusters = page.map(toRemoteCluster);
    for (const c of clusters) if (c.managementId) listed.add(c.managementId);
    yield clusters;
  }
  for await (const page of client.pages<V3Cluster>(ROUTES.twins)) {
    const lingering = page
      .filter((twin) => isProvisioningTwin(twin) && !listed.has(twin.id))
      .map(toRemoteTwin)
      .filter((twin) => twin.removing && twin.name !== '')
      .map((twin) => ({ ...twin, id: `${FLEET_NAMESPACE}/${twin.name}`, state: 'removing', nodeCount: 0 }));
    if (lingering.length > 0) yield lingering;
  }
}

export async function* nodePoolPages(client: RancherClient): AsyncGenerator<RemoteNodePool[]> {
  for await (const page of client.stevePages<ProvisioningCluster>(
    ROUTES.clustersIn,
    {},
    { namespace: FLEET_NAMESPACE },
  ))
    yield page.flatMap(toRemoteNodePools);
}

/**
 * The CAPI machines, each with its Node's conditions. A machine carries CAPI's conditions only
 * (`NodeHealthy` sums the Node's up); the Node's own are on Rancher's management Node, which the
 * node syncer keeps for every downstream Node of every cluster (see `ManagementNode`): one paged
 * list of those across all clusters, before the machines, joined to each machine through the
 * `cluster.x-k8s.io/machine` annotation CAPI puts on the Node. What they carry is the kubelet's
 * `Ready` and Rancher's `Registered`: Rancher drops the pressure conditions (`cleanStatus`), so
 * on rke2 those reach Paddock only through the machine's `NodeHealthy`. The kubelet's `Ready`
 * takes the place of the machine's own `Ready` (CAPI's summary of the machine). A machine whose
 * Node is not listed (none yet, or made after that page was read) keeps the machine's conditions.
 */
export async function* nodePages(client: RancherClient): AsyncGenerator<RemoteNode[]> {
  const nodeConditions = await nodeConditionsByMachine(client);
  for await (const page of client.stevePages<CapiMachine>(
    ROUTES.machinesIn,
    {},
    { namespace: FLEET_NAMESPACE },
  ))
    yield page.map((machine) => {
      const node = toRemoteNode(machine);
      const own = nodeConditions.get(node.id);
      return own ? { ...node, conditions: mergeConditions(node.conditions, own) } : node;
    });
}

/** The conditions of every management Node made for a CAPI machine, by the machine's steve id. */
export async function nodeConditionsByMachine(
  client: RancherClient,
): Promise<Map<string, RemoteCondition[]>> {
  const found = new Map<string, RemoteCondition[]>();
  try {
    for await (const page of client.stevePages<ManagementNode>(ROUTES.managementNodes)) {
      for (const node of page) {
        const machine = machineIdOfNode(node);
        if (machine && !node.metadata?.deletionTimestamp) found.set(machine, nodeConditionsOf(node));
      }
    }
  } catch (error) {
    // A server that does not serve the type: the machines' own conditions are all there is.
    if (!(isBackendError(error) && error.kind === 'not-found')) throw error;
  }
  return found;
}
