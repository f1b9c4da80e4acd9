/**
 * A backend as Paddock's services and repositories speak of it. The DTO files build the public
 * shapes from these; nothing here knows about HTTP or about the table's column names.
 */
import type { BackendKind, FlavorTemplate } from './backend-driver';

export const BACKEND_STATES = ['active', 'draining', 'disabled'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

export type BackendHealth = 'unknown' | 'healthy' | 'unhealthy';

/** What a flavor means on one backend: a node template (rke1) or a machine-config template (rke2). */
export type Flavor = FlavorTemplate;

/**
 * The template reference a pool of `flavor` records: the node template's id on rke1; on rke2 the
 * flavor's own name, which the driver resolves to its machine-config template.
 */
export const templateRefOf = (flavorName: string, flavor: Flavor): string =>
  flavor.nodeTemplateId ?? flavorName;

export interface Backend {
  id: string;
  name: string;
  url: string;
  kind: BackendKind;
  /** The Rancher token sealed under the encryption key; never leaves the process in clear. */
  tokenCiphertext: string;
  region: string | null;
  labels: Record<string, string>;
  maxClusters: number;
  maxNodes: number;
  /** Live clusters placed on the backend, reservations included. */
  clusters: number;
  /** Σ desired nodes of the live pools placed on the backend, reservations included. */
  nodes: number;
  state: BackendState;
  flavors: Record<string, Flavor>;
  /** rke2: the cloud credential (`cattle-global-data:cc-xxxxx`) clusters are made with. */
  cloudCredential: string | null;
  rancherVersion: string | null;
  /** Kubernetes versions as the backend spells them, from its last probe. */
  kubernetesVersions: string[];
  lastSyncAt: Date | null;
  lastSyncError: string | null;
  syncReport: Record<string, unknown>;
  health: BackendHealth;
  probeFailures: number;
  healthCheckedAt: Date | null;
  lastHealthyAt: Date | null;
  lastProbeError: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What an admin sets on a backend, at registration and after (everything but its name and kind). */
export type BackendSettings = Pick<
  Backend,
  | 'url'
  | 'tokenCiphertext'
  | 'region'
  | 'labels'
  | 'maxClusters'
  | 'maxNodes'
  | 'state'
  | 'flavors'
  | 'cloudCredential'
  | 'rancherVersion'
  | 'kubernetesVersions'
>;

export type NewBackend = Pick<Backend, 'name' | 'kind'> & BackendSettings;

/** The name and kind are for life; the rest may change. */
export type BackendPatch = Partial<BackendSettings>;
