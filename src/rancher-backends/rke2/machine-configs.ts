/**
 * Machine configs, what a flavor becomes on rke2: one per pool (`rke-machine-config.cattle.io.
 * <driver>configs` in `fleet-default`, `generateName` `nc-<pool prefix>-`), labelled with
 * Paddock's pool and cluster ids and looked up by those labels before one is made.
 */

import type { FlavorTemplate, NodePoolCreateSpec, NodeTemplateRef } from '../backend-driver';
import { PADDOCK_LABELS } from '../backend-driver';
import { BackendError, isBackendError } from '../backend.errors';
import { RancherClient } from '../rancher-client';
import { FLEET_NAMESPACE, MachinePool, SteveObject, toMachinePool } from '../wire/v1.types';
import { ROUTES, deleteQuietly, readCluster } from './steve-requests';

export interface MachineConfigTemplate {
  kind: string;
  fields: Record<string, unknown>;
}

/** `OpenstackConfig` → `openstackconfigs`: the steve type segment of a machine-config kind. */
export const typeOf = (kind: string) => `${kind.toLowerCase()}s`;

export function templateOf(
  flavors: Record<string, FlavorTemplate>,
  flavor: string,
): MachineConfigTemplate | null {
  const template: FlavorTemplate | undefined = flavors[flavor];
  return template?.machineConfig ?? null;
}

export function requireTemplate(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  flavor: string,
): MachineConfigTemplate {
  const template = templateOf(flavors, flavor);
  if (!template) {
    throw new BackendError({
      kind: 'invalid',
      retryable: false,
      backend: client.backend,
      method: 'POST',
      path: ROUTES.machineConfigs,
      detail: `flavor ${flavor} has no machine-config template on this backend`,
    });
  }
  return template;
}

export function templateKinds(flavors: Record<string, FlavorTemplate>): string[] {
  const kinds = Object.values(flavors).flatMap((f) => (f.machineConfig ? [f.machineConfig.kind] : []));
  return [...new Set(kinds)];
}

/** A pool's machine config, made unless one carries the pool's label already (`prepareNodePool`). */
export async function prepareMachineConfig(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  spec: NodePoolCreateSpec,
): Promise<void> {
  const template = requireTemplate(client, flavors, spec.nodeTemplateId);
  const poolId = spec.labels[PADDOCK_LABELS.poolId];
  if ((await machineConfigsOf(client, template.kind, PADDOCK_LABELS.poolId, poolId)).length > 0) return;
  const prefix = `nc-${spec.hostnamePrefix}`.slice(0, 57).replace(/-*$/, '-');
  await client.request({
    method: 'POST',
    route: ROUTES.machineConfigs,
    params: { type: typeOf(template.kind) },
    body: {
      ...template.fields,
      apiVersion: 'rke-machine-config.cattle.io/v1',
      kind: template.kind,
      metadata: { generateName: prefix, namespace: FLEET_NAMESPACE, labels: { ...spec.labels } },
    },
  });
}

/** Deletes the machine configs of a cluster, or of one pool of it (`releaseNodePools`). */
export async function releaseMachineConfigs(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  owner: { clusterId: string; poolId?: string },
): Promise<void> {
  for (const kind of templateKinds(flavors)) {
    const configs = owner.poolId
      ? await machineConfigsOf(client, kind, PADDOCK_LABELS.poolId, owner.poolId)
      : await machineConfigsOf(client, kind, PADDOCK_LABELS.clusterId, owner.clusterId);
    for (const config of configs) {
      await deleteQuietly(client, ROUTES.machineConfig, {
        type: typeOf(kind),
        namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
        name: config.metadata?.name ?? '',
      });
    }
  }
}

/** Deletes the cluster's machine configs that no machine pool names (`removeStrayNodePoolPreparations`). */
export async function removeStrayMachineConfigs(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  owner: { clusterId: string; rancherId: string },
): Promise<number> {
  const cluster = await readCluster(client, owner.rancherId);
  if (!cluster) return 0;
  // A config is in use when a machine pool names it; machine pools name their config only.
  const inUse = new Set(
    (cluster.spec?.rkeConfig?.machinePools ?? []).map((p) => p.machineConfigRef?.name).filter(Boolean),
  );
  let removed = 0;
  for (const kind of templateKinds(flavors)) {
    for (const config of await machineConfigsOf(client, kind, PADDOCK_LABELS.clusterId, owner.clusterId)) {
      const name = config.metadata?.name;
      if (!name || inUse.has(name)) continue;
      await deleteQuietly(client, ROUTES.machineConfig, {
        type: typeOf(kind),
        namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
        name,
      });
      removed++;
    }
  }
  return removed;
}

/** Paddock's machine configs of one kind carrying `label=value`, re-checked client-side. */
export async function machineConfigsOf(
  client: RancherClient,
  kind: string,
  label: string,
  value: string | undefined,
): Promise<SteveObject[]> {
  if (!value) return [];
  const items = await client.listAllSteve<SteveObject>(
    ROUTES.machineConfigsIn,
    { labelSelector: `${label}=${value}` },
    { type: typeOf(kind), namespace: FLEET_NAMESPACE },
  );
  return items.filter((o) => o.metadata?.labels?.[label] === value && !o.metadata?.deletionTimestamp);
}

/**
 * The machine config of every pool, by Paddock's pool id: one list per machine-config kind. A
 * pool with two (a create that timed out and landed after the retry made another) uses the first
 * by name, every time, and the copy is deleted: both carry the same labels, so nothing else could
 * tell them apart.
 */
export async function machineConfigsFor(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  clusterId: string | undefined,
  pools: NodePoolCreateSpec[],
): Promise<Map<string | undefined, { kind: string; name: string }>> {
  const found = new Map<string | undefined, { kind: string; name: string }>();
  const kinds = new Set(pools.map((p) => requireTemplate(client, flavors, p.nodeTemplateId).kind));
  for (const kind of kinds) {
    const configs = (await machineConfigsOf(client, kind, PADDOCK_LABELS.clusterId, clusterId))
      .filter((c) => c.metadata?.name)
      .sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
    for (const config of configs) {
      const poolId = config.metadata?.labels?.[PADDOCK_LABELS.poolId];
      if (!found.has(poolId)) {
        found.set(poolId, { kind, name: config.metadata!.name! });
        continue;
      }
      await deleteQuietly(client, ROUTES.machineConfig, {
        type: typeOf(kind),
        namespace: config.metadata?.namespace ?? FLEET_NAMESPACE,
        name: config.metadata!.name!,
      });
    }
  }
  return found;
}

/** A flavor's machine-config template (`findNodeTemplate`); checks that its schema answers. */
export async function findMachineConfigTemplate(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  flavor: string,
): Promise<NodeTemplateRef | null> {
  const template = templateOf(flavors, flavor);
  if (!template) return null;
  try {
    await client.request({
      method: 'GET',
      route: ROUTES.machineConfigs,
      params: { type: typeOf(template.kind) },
      query: { limit: 1 },
    });
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return null;
    throw error;
  }
  return { id: flavor, name: flavor, driver: template.kind };
}

/** The machine pools of a cluster create, each naming its pool's machine config. */
export async function machinePoolsFor(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  clusterId: string | undefined,
  pools: NodePoolCreateSpec[],
): Promise<MachinePool[]> {
  const configs = await machineConfigsFor(client, flavors, clusterId, pools);
  return pools.map((pool) => {
    const config = configs.get(pool.labels[PADDOCK_LABELS.poolId]);
    if (!config) {
      throw client.unexpected(
        { method: 'POST', path: ROUTES.clusters },
        `pool ${pool.name ?? pool.hostnamePrefix} has no machine config yet`,
      );
    }
    return toMachinePool(pool, config);
  });
}

/** The machine pool a pool create adds to its cluster, naming the pool's machine config. */
export async function machinePoolOf(
  client: RancherClient,
  flavors: Record<string, FlavorTemplate>,
  spec: NodePoolCreateSpec,
): Promise<MachinePool> {
  const template = requireTemplate(client, flavors, spec.nodeTemplateId);
  const [config] = await machineConfigsOf(
    client,
    template.kind,
    PADDOCK_LABELS.poolId,
    spec.labels[PADDOCK_LABELS.poolId],
  );
  if (!config?.metadata?.name) {
    throw client.unexpected(
      { method: 'PUT', path: spec.clusterId },
      `pool ${spec.name ?? spec.hostnamePrefix} has no machine config yet`,
    );
  }
  return toMachinePool(spec, { kind: template.kind, name: config.metadata.name });
}
