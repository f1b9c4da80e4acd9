/**
 * What the `--version` a simulator runs as decides (rancher-212.md §1): which `/v3` schemas exist,
 * whether RKE1 clusters provision, which webhook checks run, and the channel-server release lists.
 */

export interface RancherVersion {
  /** As configured, e.g. `v2.12.3`. */
  raw: string;
  major: number;
  minor: number;
}

export function parseRancherVersion(raw: string): RancherVersion {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(raw);
  if (!match) throw new Error(`version ${raw} is not of the form v2.X[.Y]`);
  const version = {
    raw: raw.startsWith('v') ? raw : `v${raw}`,
    major: Number(match[1]),
    minor: Number(match[2]),
  };
  if (version.major !== 2 || version.minor < 6)
    throw new Error(`version ${raw}: only v2.6 and later are simulated`);
  return version;
}

/** 2.6–2.11 still provision RKE1; 2.12 removed it (rancher-212.md §1.1). */
export function servesRke1(version: RancherVersion): boolean {
  return version.minor <= 11;
}

/** `nodePool` keeps its schema and store (no controller) through 2.14; 2.15 drops it (§1.3). */
export function keepsNodePoolSchema(version: RancherVersion): boolean {
  return version.minor <= 14;
}

/** 2.15 removed the RKE block from the v3 cluster type: norman drops it from input (§1.2). */
export function keepsRkeClusterField(version: RancherVersion): boolean {
  return version.minor <= 14;
}

/** The webhook checks `etcdSnapshotRestore` references from v0.10.0 = Rancher 2.14 (§5.4). */
export function validatesSnapshotRestore(version: RancherVersion): boolean {
  return version.minor >= 14;
}

/**
 * `fleet.cattle.io.helmops`: HelmOps left experimental in Fleet 0.13 = Rancher 2.12 (rancher-212.md
 * §4.b); before that the controller is off and steve has no such type.
 */
export function servesHelmOps(version: RancherVersion): boolean {
  return version.minor >= 12;
}

/**
 * The Bundle field that makes the agents download `helm.repo/chart/version` themselves, as this
 * version's Fleet CRD names it (its structural schema prunes any other):
 * - Fleet 0.13 (2.12 on): `helmOpOptions` (`pkg/apis/fleet.cattle.io/v1alpha1/bundle_types.go`).
 * - Fleet 0.12 (2.11): `helmAppOptions`, honoured only with the controller's env
 *   `EXPERIMENTAL_HELM_OPS=true` (fleet `internal/cmd/controller/reconciler/bundle_controller.go`
 *   at 0.12: "bundle contains data used by helm ops but env variable EXPERIMENTAL_HELM_OPS is not
 *   set to true"), which Rancher's Fleet chart values never set
 *   (rancher `pkg/controllers/dashboard/fleetcharts/controller.go`).
 * - Fleet 0.11 and older (≤ 2.10): none; a Bundle carries its chart in `spec.resources`.
 */
export function bundleChartField(version: RancherVersion): 'helmOpOptions' | 'helmAppOptions' | null {
  if (version.minor >= 12) return 'helmOpOptions';
  if (version.minor === 11) return 'helmAppOptions';
  return null;
}

export const DEFAULT_RKE2_VERSIONS = ['v1.31.9+rke2r1', 'v1.30.14+rke2r2', 'v1.32.5+rke2r1'];
export const DEFAULT_K3S_VERSIONS = ['v1.31.9+k3s1', 'v1.30.14+k3s2', 'v1.32.5+k3s1'];

/** `rke2` for `+rke2rN`, `k3s` for `+k3sN`: the suffix selects the distribution (§9.3). */
export function distroOf(kubernetesVersion: string): 'rke2' | 'k3s' {
  return /\+k3s\d*$/.test(kubernetesVersion) ? 'k3s' : 'rke2';
}

/**
 * One `model.Release` of the embedded channel server (`/v1-<distro>-release/releases`, §1.6).
 * Every simulated release is listed as valid for the running minor.
 */
export function releaseObject(version: string, rancher: RancherVersion): Record<string, unknown> {
  const distro = distroOf(version);
  const [, minor = '0'] = /^v1\.(\d+)\./.exec(version) ?? [];
  const chart = distro === 'rke2' ? 'rke2-canal' : 'traefik';
  return {
    id: version,
    type: 'release',
    links: {},
    version,
    minChannelServerVersion: `v2.${rancher.minor}.0-alpha1`,
    maxChannelServerVersion: `v2.${rancher.minor}.99`,
    serverArgs: { 'cluster-cidr': { type: 'string', default: '10.42.0.0/16' } },
    agentArgs: { 'node-label': { type: 'array' } },
    featureVersions: { 'encryption-key-rotation': '2.0.0' },
    charts: { [chart]: { repo: `rancher-${distro}-charts`, version: `1.${minor}.0` } },
  };
}
