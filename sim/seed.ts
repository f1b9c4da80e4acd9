import { ApiError, isPlainObject } from './http';
import { stringMap } from './merge';
import type { World } from './world';

/** What `POST /__sim/seed` creates. A simulator-only extension: no Rancher has such an endpoint. */
export interface SeedRequest {
  clusters: number;
  poolsPerCluster: number;
  nodesPerPool: number;
  labels: Record<string, string>;
  namePrefix: string;
  nodeTemplateId?: string;
  /** Completed recurring (local) etcd backups per cluster. */
  backupsPerCluster: number;
}

export interface SeedResult {
  clusterIds: string[];
  nodePools: number;
  nodes: number;
  backups: number;
}

const MAX_CLUSTERS = 100_000;

export function parseSeedRequest(body: Record<string, unknown>): SeedRequest {
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
  return {
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
 * Creates already-active clusters, pools and nodes at once (benchmarks need thousands). With
 * several pools the first holds etcd + controlplane and the rest are workers, as in production.
 */
export function seed(world: World, request: SeedRequest): SeedResult {
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
      const roles =
        request.poolsPerCluster === 1
          ? ['etcd', 'controlPlane', 'worker']
          : p === 0
            ? ['etcd', 'controlPlane']
            : ['worker'];
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
