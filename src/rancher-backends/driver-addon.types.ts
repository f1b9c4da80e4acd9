/** Addons through Fleet as a driver sees them (part of the backend-driver interface, `backend-driver.ts`). */

/** How a backend's Fleet takes an addon: a `HelmOp`, or a `Bundle` that embeds the chart. */
export type AddonDeliveryKind = 'helmop' | 'bundle';

/** One addon's Fleet object on one backend, in Paddock's words. */
export interface AddonDeliverySpec {
  /** The Fleet object's name (`paddock-<addon>`), also its bundle's and each bundle deployment's. */
  name: string;
  /** Paddock's addon name, as a label on the object. */
  addon: string;
  chart: { repo: string; name: string; version: string };
  /** For a Bundle: the chart's files as `spec.resources`, the way `fleet apply` embeds a chart. */
  resources?: { name: string; content: string; encoding?: string }[];
  namespace: string;
  releaseName: string;
  values: Record<string, unknown>;
  /** The clusters it reaches: every Paddock cluster, or the ones carrying the addon's opt-in label. */
  selector: Record<string, string>;
  /** Clusters with values of their own (each also matched by `selector`). */
  clusterTargets: { name: string; fleetClusterName: string; values: Record<string, unknown> }[];
  /** Fleet's `rolloutStrategy.maxUnavailable`: a count or a percentage. */
  maxUnavailable: string | number;
  paused: boolean;
}

/** Fleet's counts for one addon on one backend (`status.summary`). */
export interface RemoteAddonSummary {
  name: string;
  version: string | null;
  paused: boolean;
  desiredReady: number;
  ready: number;
  errApplied: number;
  /** Modified: installed, then changed behind Fleet's back. */
  modified: number;
  /** WaitApplied, Pending, NotReady and OutOfSync: on their way. */
  waiting: number;
  state: string;
}

export type RemoteAddonDeploymentState =
  'Ready' | 'NotReady' | 'WaitApplied' | 'ErrApplied' | 'OutOfSync' | 'Modified' | 'Pending';

/** One addon on one cluster, as its Fleet bundle deployment says. */
export interface RemoteAddonDeployment {
  /** The driver's id of the cluster (`c-abcde`; rke2 `fleet-default/<name>`). */
  clusterId: string;
  version: string | null;
  state: RemoteAddonDeploymentState;
  /** A `NotReady` that is an error (a resource reports one), not a release still coming up. */
  error: boolean;
  message: string;
}

/**
 * A backend's Fleet: where addons are delivered. Every call has a timeout; errors are
 * `BackendError`s. Calls per rollout and per status cycle do not depend on the number of clusters.
 */
export interface FleetDelivery {
  /** HelmOp, Bundle, or null when the backend's Fleet cannot deliver addons (a look-up, once). */
  deliveryKind(): Promise<AddonDeliveryKind | null>;
  /** Creates or updates the addon's Fleet object (look-up first; nothing written when unchanged). */
  apply(kind: AddonDeliveryKind, spec: AddonDeliverySpec): Promise<void>;
  /** Removes the addon's Fleet object; Fleet uninstalls it everywhere. Idempotent. */
  remove(kind: AddonDeliveryKind, name: string): Promise<void>;
  /** Every Paddock addon's counts on the backend: one call. */
  summaries(kind: AddonDeliveryKind): Promise<RemoteAddonSummary[]>;
  /** One addon's per-cluster deployments, paged. */
  deploymentPages(name: string): AsyncIterable<RemoteAddonDeployment[]>;
}

/**
 * What differs by backend kind on the way to Fleet: which object carries a cluster's labels, and
 * the name Fleet knows a cluster by. The Fleet objects themselves are the same on both kinds.
 */
export interface AddonDriver {
  readonly fleet: FleetDelivery;
  /** The name Fleet knows the cluster by (rke1 `c-abcde`; rke2 the provisioning cluster's name). */
  fleetClusterName(clusterId: string): string;
  /**
   * Sets (`value`) or removes (null) one label on the cluster where Rancher copies it to the Fleet
   * cluster (rke1: the management cluster; rke2: the provisioning cluster). No-op when already so.
   */
  setClusterLabel(clusterId: string, key: string, value: string | null): Promise<void>;
}
