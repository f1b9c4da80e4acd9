/**
 * Addons through the backend's Fleet (rancher-212.md §4.b), the same on both backend kinds: Fleet
 * lives on Rancher's local cluster and is reached through steve `/v1` whatever API the backend
 * provisions clusters with. One Fleet object per addon in `fleet-default`: a `HelmOp` where the
 * backend's Fleet serves that type (Fleet ≥ 0.13, Rancher ≥ 2.12), else a `Bundle` that embeds
 * the chart in `spec.resources` as `fleet apply` does. Before 0.13 no Bundle field makes the
 * agents download a chart: Fleet 0.12 (Rancher 2.11) has `helmAppOptions` only behind the
 * controller's `EXPERIMENTAL_HELM_OPS` env, which Rancher does not set, and Fleet ≤ 0.11 (Rancher
 * ≤ 2.10: 0.11 in 2.10, 0.10 in 2.9) has no such field at all; a Bundle with neither resources
 * nor that field deploys an empty chart and reports Ready. Which of the two a backend has is read
 * from steve's schemas once per driver (drivers are rebuilt whenever the backend row changes).
 */
import type {
  AddonDeliveryKind,
  AddonDeliverySpec,
  FleetDelivery,
  RemoteAddonDeployment,
  RemoteAddonDeploymentState,
  RemoteAddonSummary,
} from './backend-driver';
import { PADDOCK_LABELS } from './backend-driver';
import { isBackendError } from './backend.errors';
import { RancherClient } from './rancher-client';
import { FLEET_NAMESPACE } from './wire/v1.types';

const SCHEMA_IDS: Record<AddonDeliveryKind, string> = {
  helmop: 'fleet.cattle.io.helmop',
  bundle: 'fleet.cattle.io.bundle',
};
const TYPES: Record<AddonDeliveryKind, string> = {
  helmop: 'fleet.cattle.io.helmops',
  bundle: 'fleet.cattle.io.bundles',
};
const ROUTES = {
  schema: '/v1/schemas/:id',
  collection: '/v1/:type',
  inNamespace: '/v1/:type/:namespace',
  object: '/v1/:type/:namespace/:name',
  deployments: '/v1/fleet.cattle.io.bundledeployments',
} as const;

/** Labels Fleet puts on every bundle deployment (`target.go` `BundleDeploymentLabels`). */
const BD_LABELS = {
  bundleName: 'fleet.cattle.io/bundle-name',
  bundleNamespace: 'fleet.cattle.io/bundle-namespace',
  cluster: 'fleet.cattle.io/cluster',
} as const;

/** The label on Paddock's Fleet objects naming the addon (so the summary list is one call). */
export const ADDON_LABEL = 'paddock.dev/addon';

/** A cluster update that keeps losing to other writers gives up after this many reads. */
const UPDATE_ATTEMPTS = 5;

interface FleetObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown> & { paused?: boolean; helm?: { version?: string } };
  status?: {
    summary?: Partial<
      Record<
        | 'desiredReady'
        | 'ready'
        | 'errApplied'
        | 'waitApplied'
        | 'pending'
        | 'notReady'
        | 'modified'
        | 'outOfSync',
        number
      >
    >;
    display?: { state?: string; message?: string };
    version?: string;
  };
}

interface BundleDeployment {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: { deploymentID?: string; stagedDeploymentID?: string; options?: { helm?: { version?: string } } };
  status?: {
    appliedDeploymentID?: string;
    ready?: boolean;
    nonModified?: boolean;
    conditions?: { type?: string; status?: string; message?: string; reason?: string }[];
    display?: { state?: string; message?: string };
    nonReadyStatus?: { summary?: { message?: string[]; error?: boolean } }[];
    modifiedStatus?: { summary?: { message?: string[]; error?: boolean } }[];
  };
}

/**
 * The Fleet side of a `BackendDriver`. `fleetClusterId` turns a Fleet cluster name (what a bundle
 * deployment's `fleet.cattle.io/cluster` label says) into the driver's own cluster id.
 */
export class FleetAddons implements FleetDelivery {
  private kind: Promise<AddonDeliveryKind | null> | null = null;

  constructor(
    private readonly client: RancherClient,
    private readonly clusterIdOf: (fleetClusterName: string) => string,
  ) {}

  /** HelmOp where served, else Bundle, else null (no Fleet, or one too old): at most two calls, once. */
  deliveryKind(): Promise<AddonDeliveryKind | null> {
    this.kind ??= this.detectKind().catch((error: unknown) => {
      this.kind = null;
      throw error;
    });
    return this.kind;
  }

  /** A served HelmOp type decides it (Fleet ≥ 0.13); else any Fleet that serves Bundles takes the chart embedded. */
  private async detectKind(): Promise<AddonDeliveryKind | null> {
    if (await this.serves('helmop')) return 'helmop';
    if (await this.serves('bundle')) return 'bundle';
    return null;
  }

  private async serves(kind: AddonDeliveryKind): Promise<boolean> {
    try {
      await this.client.request({ method: 'GET', route: ROUTES.schema, params: { id: SCHEMA_IDS[kind] } });
      return true;
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return false;
      throw error;
    }
  }

  /**
   * Makes the addon's Fleet object say what `spec` says: created when absent, else one `PUT` with
   * the `resourceVersion` read (re-read and redone on 409). Nothing is written when it already
   * says so, so an apply whose answer was lost is harmless to repeat.
   */
  async apply(kind: AddonDeliveryKind, spec: AddonDeliverySpec): Promise<void> {
    const desired = toFleetObject(kind, spec);
    const params = { type: TYPES[kind], namespace: FLEET_NAMESPACE, name: spec.name };
    for (let attempt = 1; ; attempt++) {
      const current = await this.read(kind, spec.name);
      if (!current) {
        try {
          await this.client.request({
            method: 'POST',
            route: ROUTES.inNamespace,
            params: { type: TYPES[kind], namespace: FLEET_NAMESPACE },
            body: desired,
          });
          return;
        } catch (error) {
          // An earlier attempt whose answer was lost: read it and update it instead.
          if (isBackendError(error) && error.kind === 'conflict' && attempt < UPDATE_ATTEMPTS) continue;
          throw error;
        }
      }
      // Only what Paddock sets is compared: Fleet fills in defaults of its own.
      const currentSpec = current.spec ?? {};
      if (
        Object.entries(desired.spec).every(([key, value]) => same(currentSpec[key], value)) &&
        same(current.metadata?.labels?.[ADDON_LABEL], desired.metadata.labels[ADDON_LABEL])
      )
        return;
      try {
        await this.client.request({
          method: 'PUT',
          route: ROUTES.object,
          params,
          body: {
            ...desired,
            metadata: {
              ...current.metadata,
              labels: { ...current.metadata?.labels, ...desired.metadata.labels },
            },
          },
          idempotent: false,
        });
        return;
      } catch (error) {
        if (isBackendError(error) && error.kind === 'conflict' && attempt < UPDATE_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** Deletes the addon's Fleet object; Fleet then uninstalls it from every cluster. Idempotent. */
  async remove(kind: AddonDeliveryKind, name: string): Promise<void> {
    try {
      await this.client.request({
        method: 'DELETE',
        route: ROUTES.object,
        params: { type: TYPES[kind], namespace: FLEET_NAMESPACE, name },
        idempotent: true,
      });
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return;
      throw error;
    }
  }

  /** Every Paddock addon's counts on this backend: one call (one page per 1,000 addons). */
  async summaries(kind: AddonDeliveryKind): Promise<RemoteAddonSummary[]> {
    const items = await this.client.listAllSteve<FleetObject>(
      ROUTES.inNamespace,
      { labelSelector: `${PADDOCK_LABELS.managed}=true` },
      { type: TYPES[kind], namespace: FLEET_NAMESPACE },
    );
    return items.flatMap((item) => {
      const name = item.metadata?.name;
      if (!name || item.metadata?.deletionTimestamp) return [];
      const s = item.status?.summary ?? {};
      return [
        {
          name,
          version: item.spec?.helm?.version ?? null,
          paused: item.spec?.paused === true,
          desiredReady: s.desiredReady ?? 0,
          ready: s.ready ?? 0,
          errApplied: s.errApplied ?? 0,
          modified: s.modified ?? 0,
          waiting: (s.waitApplied ?? 0) + (s.pending ?? 0) + (s.notReady ?? 0) + (s.outOfSync ?? 0),
          state: item.status?.display?.state ?? '',
        },
      ];
    });
  }

  /**
   * The addon's bundle deployments, one per targeted cluster, a page at a time: what the status
   * sync reads only for an addon whose summary says something is not ready.
   */
  async *deploymentPages(name: string): AsyncGenerator<RemoteAddonDeployment[]> {
    for await (const page of this.client.stevePages<BundleDeployment>(ROUTES.deployments, {
      labelSelector: `${BD_LABELS.bundleName}=${name},${BD_LABELS.bundleNamespace}=${FLEET_NAMESPACE}`,
    })) {
      yield page.flatMap((bd) => {
        const cluster = bd.metadata?.labels?.[BD_LABELS.cluster];
        if (!cluster) return [];
        return [
          {
            clusterId: this.clusterIdOf(cluster),
            version: bd.spec?.options?.helm?.version ?? null,
            state: deploymentState(bd),
            error: (bd.status?.nonReadyStatus ?? []).some((r) => r.summary?.error === true),
            message: deploymentMessage(bd),
          },
        ];
      });
    }
  }

  private async read(kind: AddonDeliveryKind, name: string): Promise<FleetObject | null> {
    try {
      const res = await this.client.request<FleetObject>({
        method: 'GET',
        route: ROUTES.object,
        params: { type: TYPES[kind], namespace: FLEET_NAMESPACE, name },
      });
      return res.data;
    } catch (error) {
      if (isBackendError(error) && error.kind === 'not-found') return null;
      throw error;
    }
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function toFleetObject(kind: AddonDeliveryKind, spec: AddonDeliverySpec) {
  const helm = {
    repo: spec.chart.repo,
    chart: spec.chart.name,
    version: spec.chart.version,
    releaseName: spec.releaseName,
    values: spec.values,
  };
  // Fleet gives a cluster the first target that matches it: the per-cluster ones (values of
  // their own) come before the one that selects every cluster the addon reaches.
  const targets = [
    ...spec.clusterTargets.map((t) => ({
      name: t.name,
      clusterName: t.fleetClusterName,
      clusterSelector: { matchLabels: spec.selector },
      helm: { values: t.values },
    })),
    { name: 'paddock', clusterSelector: { matchLabels: spec.selector } },
  ];
  return {
    apiVersion: 'fleet.cattle.io/v1alpha1',
    kind: kind === 'helmop' ? 'HelmOp' : 'Bundle',
    metadata: {
      name: spec.name,
      namespace: FLEET_NAMESPACE,
      labels: { [PADDOCK_LABELS.managed]: 'true', [ADDON_LABEL]: spec.addon },
    },
    spec: {
      defaultNamespace: spec.namespace,
      // A Bundle keeps the chart's coordinates as `fleet apply` does: the agent finds the chart
      // among the resources under `.chart/<sha256 of chart:repo:version>/` (`style.go`).
      helm,
      ...(kind === 'bundle' ? { resources: spec.resources ?? [] } : {}),
      targets,
      rolloutStrategy: { maxUnavailable: spec.maxUnavailable },
      paused: spec.paused,
    },
  };
}

/**
 * Fleet's per-deployment state (`summary.GetDeploymentState`), computed from the object as Fleet
 * does: `status.display.state` only says ready or not.
 */
function deploymentState(bd: BundleDeployment): RemoteAddonDeploymentState {
  const status = bd.status ?? {};
  if (!status.appliedDeploymentID || status.appliedDeploymentID !== bd.spec?.deploymentID) {
    const deployed = status.conditions?.find((c) => c.type === 'Deployed');
    return deployed?.status === 'False' ? 'ErrApplied' : 'WaitApplied';
  }
  if (!status.ready) return 'NotReady';
  if (bd.spec?.stagedDeploymentID && bd.spec.stagedDeploymentID !== bd.spec.deploymentID) return 'OutOfSync';
  if (status.nonModified === false) return 'Modified';
  return 'Ready';
}

/** What went wrong, in Fleet's words: the failed condition, else the resources' own messages. */
function deploymentMessage(bd: BundleDeployment): string {
  const status = bd.status ?? {};
  const deployed = status.conditions?.find((c) => c.type === 'Deployed' && c.status === 'False');
  if (deployed?.message) return deployed.message;
  for (const list of [status.nonReadyStatus, status.modifiedStatus]) {
    const message = (list ?? []).flatMap((r) => r.summary?.message ?? []).join('; ');
    if (message) return message;
  }
  return status.conditions?.find((c) => c.type === 'Ready' && c.status === 'False')?.message ?? '';
}
