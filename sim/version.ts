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
 * Whether a Bundle's `helmOpOptions` makes the agents download its chart. From Fleet 0.13 (2.12)
 * it is the documented field. Fleet 0.12 (2.11) has the same path as the experimental
 * `helmAppOptions`; the simulator serves it under the 0.13 name there, so RKE1 backends (≤ 2.11)
 * can take addons as Bundles. Fleet 0.11 and older (≤ 2.10) have no such field: the CRD prunes it.
 */
export function honoursHelmOpOptions(version: RancherVersion): boolean {
  return version.minor >= 11;
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
