/**
 * The steve types of Fleet (rancher-212.md §4.b): `fleet.cattle.io.clusters`, `bundles`,
 * `bundledeployments` on every simulated version, `helmops` from 2.12 (Fleet 0.13) on. Clients
 * create, update and delete bundles and HelmOps; clusters and bundle deployments are Fleet's own.
 */
import { isPlainObject } from '../http';
import type { KubeObject } from '../kube/store';
import { SteveError, type SteveSchema } from '../steve/schema';
import { bundleChartField, servesHelmOps } from '../version';
import type { World } from '../world';
import { BUNDLE, BUNDLE_DEPLOYMENT, FLEET_CLUSTER, GROUP, HELMOP } from './names';

export function fleetSchemas(world: World): SteveSchema[] {
  const base = { group: GROUP, version: 'v1alpha1', namespaced: true } as const;
  const schemas: SteveSchema[] = [
    {
      ...base,
      id: FLEET_CLUSTER,
      kind: 'Cluster',
      resource: 'clusters',
      methods: [],
      refresh: (w) => w.fleet.refreshClusters(),
    },
    {
      ...base,
      id: BUNDLE,
      kind: 'Bundle',
      resource: 'bundles',
      methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      admit: (w, next) => admitBundle(w, next),
      afterWrite: (w) => w.fleet.kick(),
      remove: (w, current) => {
        w.local.write('DELETED', BUNDLE, current);
        w.fleet.kick();
        return undefined;
      },
    },
    {
      ...base,
      id: BUNDLE_DEPLOYMENT,
      kind: 'BundleDeployment',
      resource: 'bundledeployments',
      methods: [],
    },
  ];
  if (servesHelmOps(world.rancher)) {
    schemas.push({
      ...base,
      id: HELMOP,
      kind: 'HelmOp',
      resource: 'helmops',
      methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      admit: (_w, next) => requireSpec(next),
      afterWrite: (w) => w.fleet.kick(),
      remove: (w, current) => {
        w.local.write('DELETED', HELMOP, current);
        w.fleet.kick();
        return undefined;
      },
    });
  }
  return schemas;
}

/**
 * The CRD's structural schema: `spec` is an object; the chart-download field of another Fleet
 * version is unknown here and pruned, as the API server prunes any unknown field.
 */
function admitBundle(world: World, next: KubeObject): void {
  requireSpec(next);
  const spec = next.spec as Record<string, unknown>;
  const known = bundleChartField(world.rancher);
  for (const field of ['helmOpOptions', 'helmAppOptions'] as const) if (field !== known) delete spec[field];
}

function requireSpec(next: KubeObject): void {
  if (next.spec === undefined) next.spec = {};
  if (!isPlainObject(next.spec))
    throw new SteveError(
      422,
      'Invalid',
      `${next.kind}.fleet.cattle.io "${next.metadata.name}" is invalid: spec: Invalid value: must be of type object`,
    );
  const spec = next.spec;
  if (spec.targets !== undefined && !Array.isArray(spec.targets)) {
    throw new SteveError(
      422,
      'Invalid',
      `${next.kind}.fleet.cattle.io "${next.metadata.name}" is invalid: spec.targets: Invalid value: must be of type array`,
    );
  }
  if (spec.helm !== undefined && !isPlainObject(spec.helm)) {
    throw new SteveError(
      422,
      'Invalid',
      `${next.kind}.fleet.cattle.io "${next.metadata.name}" is invalid: spec.helm: Invalid value: must be of type object`,
    );
  }
}
