/**
 * Names and labels Rancher and Fleet derive for Fleet objects (rancher-212.md §4.b): the per-cluster
 * namespace Fleet creates on the local cluster, and the labels Rancher copies onto a Fleet cluster.
 */
import { createHash } from 'node:crypto';

export const GROUP = 'fleet.cattle.io';
export const API_VERSION = 'fleet.cattle.io/v1alpha1';
export const FLEET_CLUSTER = 'fleet.cattle.io.cluster';
export const BUNDLE = 'fleet.cattle.io.bundle';
export const HELMOP = 'fleet.cattle.io.helmop';
export const BUNDLE_DEPLOYMENT = 'fleet.cattle.io.bundledeployment';

/** The label a HelmOp puts on the Bundle it generates (`fleet.HelmOpLabel`). */
export const HELMOP_LABEL = 'fleet.cattle.io/fleet-helm-name';

/** fleet `names.KeyHash`: the first 12 hex characters of the SHA-256 of the first 100 characters. */
export function keyHash(value: string): string {
  return createHash('sha256').update(value.slice(0, 100)).digest('hex').slice(0, 12);
}

/**
 * fleet `names.SafeConcatName`: joined by `-`; when 64 characters or more, cut at 57 (or 56 when the
 * 57th character is not alphanumeric) plus a hash of the whole.
 */
export function fleetSafeConcatName(...parts: string[]): string {
  const full = parts.join('-');
  if (full.length < 64) return full;
  const digest = createHash('sha256').update(full).digest('hex');
  return /[a-z0-9]/.test(full[56])
    ? `${full.slice(0, 57)}-${digest.slice(0, 5)}`
    : `${full.slice(0, 56)}-${digest.slice(0, 6)}`;
}

/** `cluster-<workspace>-<cluster>-<hash>`, the namespace of a cluster's bundle deployments. */
export function clusterNamespace(workspace: string, name: string): string {
  return fleetSafeConcatName('cluster', workspace, name, keyHash(`${workspace}::${name}`));
}

/**
 * The labels Rancher copies from a management cluster (wrangler `yaml.CleanAnnotationsForExport`):
 * keys starting `kubectl.kubernetes.io/` and keys containing `cattle.io/` are dropped.
 */
export function copiedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (key.startsWith('kubectl.kubernetes.io/') || key.includes('cattle.io/')) continue;
    out[key] = value;
  }
  return out;
}

/** A Kubernetes label value: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(value);
}
