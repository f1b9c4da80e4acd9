/** The calls an rke1 create makes, described for people (the `:plan` dry run; no call is made). */

import type { ClusterCreateSpec, NodePoolCreateSpec, PlannedCall } from '../backend-driver';
import { ROUTES } from './norman-requests';

export function rke1CreatePlan(cluster: ClusterCreateSpec, pools: NodePoolCreateSpec[]): PlannedCall[] {
  return [
    {
      method: 'GET',
      path: `${ROUTES.clusters}?name=${cluster.name}`,
      purpose: 'look for a cluster left by an earlier attempt',
    },
    { method: 'POST', path: ROUTES.clusters, purpose: `create cluster ${cluster.name}` },
    {
      method: 'GET',
      path: '/v3/clusters/{clusterId}',
      purpose: 'wait for InitialRolesPopulated (node pools are refused before it)',
      repeated: true,
    },
    ...pools.flatMap((pool): PlannedCall[] => [
      {
        method: 'GET',
        path: `${ROUTES.nodePools}?clusterId={clusterId}`,
        purpose: `look for pool ${pool.hostnamePrefix} from an earlier attempt`,
      },
      {
        method: 'POST',
        path: ROUTES.nodePools,
        purpose: `create pool ${pool.hostnamePrefix} (${pool.quantity} × ${pool.nodeTemplateId})`,
      },
    ]),
    {
      method: 'GET',
      path: `${ROUTES.nodePools}?clusterId={clusterId}`,
      purpose: 'check for duplicate pools once active',
    },
  ];
}
