/** The calls an rke2 create makes, described for people (the `:plan` dry run; no call is made). */

import type { ClusterCreateSpec, FlavorTemplate, NodePoolCreateSpec, PlannedCall } from '../backend-driver';
import { PADDOCK_LABELS } from '../backend-driver';
import { FLEET_NAMESPACE } from '../wire/v1.types';
import { templateOf, typeOf } from './machine-configs';
import { ROUTES } from './steve-requests';

export function rke2CreatePlan(
  flavors: Record<string, FlavorTemplate>,
  cluster: ClusterCreateSpec,
  pools: NodePoolCreateSpec[],
): PlannedCall[] {
  const clusterPath = `${ROUTES.clusters}/${FLEET_NAMESPACE}/${cluster.name}`;
  const configs = (pool: NodePoolCreateSpec) =>
    `/v1/rke-machine-config.cattle.io.${typeOf(templateOf(flavors, pool.nodeTemplateId)?.kind ?? '<driver>config')}`;
  return [
    ...pools.flatMap((pool): PlannedCall[] => [
      {
        method: 'GET',
        path: `${configs(pool)}/${FLEET_NAMESPACE}?labelSelector=${PADDOCK_LABELS.poolId}={poolId}`,
        purpose: `look for pool ${pool.hostnamePrefix}'s machine config from an earlier attempt`,
      },
      {
        method: 'POST',
        path: configs(pool),
        purpose: `create the machine config of pool ${pool.hostnamePrefix} (${pool.nodeTemplateId})`,
      },
    ]),
    { method: 'GET', path: clusterPath, purpose: 'look for a cluster left by an earlier attempt' },
    {
      method: 'GET',
      path: `${configs(pools[0] ?? ({ nodeTemplateId: '' } as NodePoolCreateSpec))}/${FLEET_NAMESPACE}?labelSelector=${PADDOCK_LABELS.clusterId}={clusterId}`,
      purpose: 'collect the machine configs the pools refer to',
    },
    {
      method: 'POST',
      path: ROUTES.clusters,
      purpose: `create cluster ${cluster.name} with its ${pools.length} machine pool(s) inline`,
    },
    {
      method: 'GET',
      path: clusterPath,
      purpose: 'record each pool and wait until the machines are running',
      repeated: true,
    },
  ];
}
