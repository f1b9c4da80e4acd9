import { ApiError, isPlainObject } from './http';
import { stringMap } from './merge';
import { servesRke1 } from './version';
import type { World } from './world';

/** What `POST /__sim/seed` creates. A simulator-only extension: no Rancher has such an endpoint. */
export interface SeedRequest {
  clusters: number;
  poolsPerCluster: number;
  nodesPerPool: number;
  labels: Record<string, string>;
  namePrefix: string;
  nodeTemplateId?: string;
  /** `rke1` (the default up to v2.11) seeds `/v3` RKE1 clusters; `rke2`/`k3s` provisioning v2 ones. */
  kind: 'rke1' | 'rke2' | 'k3s';
  /** For `rke2`/`k3s`: the version (default the first listed release) and the machine-config driver. */
  kubernetesVersion?: string;
  driver: string;
  /** Completed recurring (local) etcd backups per cluster. */
  backupsPerCluster: number;
}

export interface SeedResult {
  /** `/v3` ids: `c-xxxxx`, or the `c-m-xxxxxxxx` twins of provisioning v2 clusters. */
  clusterIds: string[];
  /** For `rke2`/`k3s`: the steve ids (`fleet-default/<name>`). */
  provisioningClusterIds?: string[];
  nodePools: number;
  nodes: number;
  backups: number;
}

const MAX_CLUSTERS = 100_000;

export function parseSeedRequest(world: World, body: Record<string, unknown>): SeedRequest {
  const count = (field: string, fallback: number, min: number): number => {
    const value = body[field] ?? fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_CLUSTERS) {
      throw new ApiError(400, 'BadRequest', `${field} must be an integer between ${min} and ${MAX_CLUSTERS}`);
    }
    return value as number;
  };
  if (body.labels !== undefined && !isPlainObject(body.labels)) {
    throw new ApiError(400, 'BadRequest', 'labels must be an object');
  }
  const namePrefix = body.namePrefix ?? 'seed-';
  if (typeof namePrefix !== 'string') throw new ApiError(400, 'BadRequest', 'namePrefix must be a string');
  if (body.nodeTemplateId !== undefined && typeof body.nodeTemplateId !== 'string') {
    throw new ApiError(400, 'BadRequest', 'nodeTemplateId must be a string');
  }
  const kind = body.kind ?? (servesRke1(world.rancher) ? 'rke1' : 'rke2');
  if (kind !== 'rke1' && kind !== 'rke2' && kind !== 'k3s') {
    throw new ApiError(400, 'BadRequest', 'kind must be rke1, rke2 or k3s');
  }
  if (kind === 'rke1' && !servesRke1(world.rancher)) {
    throw new ApiError(400, 'BadRequest', `Rancher ${world.version} has no RKE1: seed kind rke2 or k3s`);
  }
  for (const field of ['kubernetesVersion', 'driver']) {
    if (body[field] !== undefined && (typeof body[field] !== 'string' || body[field] === '')) {
      throw new ApiError(400, 'BadRequest', `${field} must be a non-empty string`);
    }
  }
  const driver = (body.driver as string | undefined) ?? 'openstack';
  if (kind !== 'rke1' && !world.steve.schemaFor(`rke-machine-config.cattle.io.${driver}config`)) {
    throw new ApiError(400, 'BadRequest', `no machine-config type for driver ${driver}`);
  }
  if (kind !== 'rke1' && body.backupsPerCluster !== undefined && body.backupsPerCluster !== 0) {
    throw new ApiError(400, 'BadRequest', 'backupsPerCluster seeds RKE1 etcd backups only');
  }
  return {
    kind,
    driver,
    kubernetesVersion: body.kubernetesVersion as string | undefined,
    clusters: count('clusters', 0, 1),
    poolsPerCluster: count('poolsPerCluster', 1, 0),
    nodesPerPool: count('nodesPerPool', 1, 0),
    labels: stringMap(body.labels),
    namePrefix,
    nodeTemplateId: body.nodeTemplateId as string | undefined,
    backupsPerCluster: count('backupsPerCluster', 0, 0),
  };
}

/**
 * Creates already-active clusters, pools and nodes at once (benchmarks need thousands), RKE1 or
 * provisioning v2 by `kind`.
 */
export function seed(world: World, request: SeedRequest): SeedResult {
  if (request.kind !== 'rke1') return seedProvisioning(world, request);
  const templateId = request.nodeTemplateId ?? seedTemplateId(world);
  if (!world.nodeTemplates.table.has(templateId)) {
    throw new ApiError(400, 'BadRequest', `node template ${templateId} not found`);
  }
  const result: SeedResult = { clusterIds: [], nodePools: 0, nodes: 0, backups: 0 };
  let index = 1;
  for (let i = 0; i < request.clusters; i++) {
    while (world.clusters.nameTaken(`${request.namePrefix}${index}`)) index++;
    const name = `${request.namePrefix}${index++}`;
    const cluster = world.clusters.createActive(name, request.labels);
    result.clusterIds.push(cluster.id);
    for (let p = 0; p < request.poolsPerCluster; p++) {
      const roles = poolRoles(request.poolsPerCluster, p);
      world.nodePools.createActive(cluster, templateId, `${name}-pool${p + 1}-`, request.nodesPerPool, roles);
      result.nodePools++;
      result.nodes += request.nodesPerPool;
    }
    for (let b = 0; b < request.backupsPerCluster; b++) {
      world.etcdBackups.createCompleted(cluster);
      result.backups++;
    }
  }
  return result;
}

function seedTemplateId(world: World): string {
  const first = world.nodeTemplates.table.sortedIds()[0];
  if (first !== undefined) return first;
  return world.nodeTemplates.create({ name: 'seed', openstackConfig: {} }, { baseUrl: world.serverUrl }).id;
}

/** Active provisioning v2 clusters (one machine config per pool, running machines, their twins). */
function seedProvisioning(world: World, request: SeedRequest): SeedResult {
  const releases = request.kind === 'k3s' ? world.k3sVersions : world.rke2Versions;
  const version = request.kubernetesVersion ?? releases[0];
  const result: SeedResult = { clusterIds: [], provisioningClusterIds: [], nodePools: 0, nodes: 0, backups: 0 };
  const taken = (name: string) =>
    world.local.get('provisioning.cattle.io.cluster', 'fleet-default', name) !== undefined ||
    world.clusters.nameTaken(name);
  let index = 1;
  for (let i = 0; i < request.clusters; i++) {
    while (taken(`${request.namePrefix}${index}`)) index++;
    const name = `${request.namePrefix}${index++}`;
    const pools = Array.from({ length: request.poolsPerCluster }, (_, p) => ({
      name: `pool${p + 1}`,
      quantity: request.nodesPerPool,
      roles: poolRoles(request.poolsPerCluster, p),
    }));
    const cluster = world.steve.provisioning.createActive(
      name,
      request.labels,
      pools,
      version,
      request.driver,
    );
    result.clusterIds.push((cluster.status as { clusterName: string }).clusterName);
    result.provisioningClusterIds!.push(`fleet-default/${name}`);
    result.nodePools += pools.length;
    result.nodes += pools.length * request.nodesPerPool;
  }
  return result;
}

/** With several pools the first holds etcd + control plane and the rest are workers. */
function poolRoles(pools: number, index: number): string[] {
  if (pools === 1) return ['etcd', 'controlPlane', 'worker'];
  return index === 0 ? ['etcd', 'controlPlane'] : ['worker'];
}
