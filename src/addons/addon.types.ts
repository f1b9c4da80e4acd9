import type { AddonDeliveryKind } from '../rancher-backends/backend-driver';

/** Addons as the services, the sync and the repository speak of them. */

export const ADDON_STATES = [
  'pending',
  'installing',
  'installed',
  'upgrading',
  'failed',
  'uninstalling',
] as const;
/** One addon on one cluster: not deployed yet, on its way, there, moving to a new version, broken, leaving. */
export type AddonState = (typeof ADDON_STATES)[number];

export const DELIVERY_STATES = ['pending', 'applied', 'unsupported', 'error'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export interface AddonChart {
  /** The Helm repository's URL (http or https), reachable from the clusters. */
  repo: string;
  name: string;
  /** A strict semver version the repository's index lists. */
  version: string;
}

export interface AddonRecord {
  id: string;
  name: string;
  chart: AddonChart;
  namespace: string;
  values: Record<string, unknown>;
  required: boolean;
  maxUnavailable: string;
  maxFailures: number;
  /** Bumped by every change the Fleet objects must carry. */
  generation: number;
  paused: boolean;
  resumedGeneration: number | null;
  deleting: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export type NewAddon = Pick<
  AddonRecord,
  'name' | 'chart' | 'namespace' | 'values' | 'required' | 'maxUnavailable' | 'maxFailures'
>;

/** One addon's Fleet object on one backend, as Paddock last wrote and read it. */
export interface DeliveryRecord {
  addonId: string;
  backendId: string;
  backendName: string;
  kind: AddonDeliveryKind | null;
  state: DeliveryState;
  message: string;
  appliedGeneration: number;
  desiredReady: number;
  ready: number;
  failed: number;
  waiting: number;
  syncedAt: Date | null;
}

/** One addon on one cluster, with what the status sync last saw. */
export interface ClusterAddonRecord {
  clusterId: string;
  addonId: string;
  addonName: string;
  required: boolean;
  optedIn: boolean;
  values: Record<string, unknown> | null;
  state: AddonState;
  version: string | null;
  message: string;
  /** The addon generation the backend's Fleet object carried when the sync read `state`. */
  observedGeneration: number;
  updatedAt: Date;
}

/** A cluster's row of one addon, as the sync needs it to turn a deployment into a state. */
export interface SyncedClusterAddon {
  clusterId: string;
  rancherId: string;
  desired: boolean;
  state: AddonState;
  version: string | null;
}

export interface ClusterAddonUpdate {
  clusterId: string;
  state: AddonState;
  version: string | null;
  message: string;
}

/** A cluster where an addon failed, named for people. */
export interface FailedCluster {
  project: string;
  cluster: string;
  backend: string;
  version: string | null;
  message: string;
}

/** The label that opts a cluster in to an optional addon; its value is the addon's id, so a
 * label left behind by a deleted addon never selects a cluster for a new one of the same name. */
export const optInLabel = (addonName: string) => `addon.paddock.dev/${addonName}`;

/** The Fleet object's name on every backend. */
export const fleetNameOf = (addonName: string) => `paddock-${addonName}`;
