/**
 * Which clusters a bundle targets and with which options (fleet `bundlematcher`, `target.go`,
 * `options.Merge`): the first target a cluster matches decides its options; `doNotDeploy` excludes it.
 */
import { isPlainObject } from '../http';
import { clone } from '../merge';

export interface FleetClusterRef {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

/** Target keys that select clusters; the rest are `BundleDeploymentOptions` merged over the bundle's. */
const SELECTION_KEYS = new Set([
  'name',
  'clusterName',
  'clusterSelector',
  'clusterGroup',
  'clusterGroupSelector',
  'doNotDeploy',
  'namespaceLabels',
  'namespaceAnnotations',
]);

/** A `metav1.LabelSelector`: every `matchLabels` pair and every `matchExpressions` entry must hold. */
export function matchesSelector(selector: unknown, labels: Record<string, string>): boolean {
  if (!isPlainObject(selector)) return false;
  const matchLabels = isPlainObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const expression of expressions) {
    if (!isPlainObject(expression) || typeof expression.key !== 'string') return false;
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    const has = Object.prototype.hasOwnProperty.call(labels, expression.key);
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        if (!has || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * One target against one cluster: every criterion given must hold, and a target giving none matches
 * nothing. Cluster groups never match: Rancher creates no ClusterGroup in `fleet-default`.
 */
export function matchesTarget(target: Record<string, unknown>, cluster: FleetClusterRef): boolean {
  let criteria = 0;
  if (typeof target.clusterName === 'string' && target.clusterName !== '') {
    criteria++;
    if (target.clusterName !== cluster.name) return false;
  }
  if (target.clusterSelector !== undefined && target.clusterSelector !== null) {
    criteria++;
    if (!matchesSelector(target.clusterSelector, cluster.labels)) return false;
  }
  if (
    (typeof target.clusterGroup === 'string' && target.clusterGroup !== '') ||
    target.clusterGroupSelector
  ) {
    return false;
  }
  return criteria > 0;
}

export function targetsOf(spec: Record<string, unknown>): Array<Record<string, unknown>> {
  return Array.isArray(spec.targets) ? spec.targets.filter(isPlainObject) : [];
}

/** The index of the target that decides a cluster's options, or -1 when it is not deployed to. */
export function matchTargetIndex(targets: Array<Record<string, unknown>>, cluster: FleetClusterRef): number {
  const index = targets.findIndex((target) => matchesTarget(target, cluster));
  if (index < 0 || targets[index].doNotDeploy === true) return -1;
  return index;
}

/** Deep merge of Helm values: maps merge key by key, anything else in `over` replaces. */
export function mergeValues(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return clone(over);
  const out: Record<string, unknown> = clone(base);
  for (const [key, value] of Object.entries(over))
    out[key] = key in out ? mergeValues(out[key], value) : clone(value);
  return out;
}

/**
 * `options.Merge(bundle options, target options)`: Helm values deep-merged, other Helm fields and
 * other options replaced when the target sets them.
 */
export function mergeOptions(
  base: Record<string, unknown>,
  target: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out = clone(base);
  if (!target) return out;
  for (const [key, value] of Object.entries(target)) {
    if (SELECTION_KEYS.has(key) || value === undefined || value === null) continue;
    if (key === 'helm' && isPlainObject(value)) {
      const helm: Record<string, unknown> = isPlainObject(out.helm) ? out.helm : {};
      for (const [field, setting] of Object.entries(value)) {
        if (field === 'values') helm.values = mergeValues(helm.values ?? {}, setting);
        else if (setting !== '' && setting !== null && setting !== undefined) helm[field] = clone(setting);
      }
      out.helm = helm;
    } else out[key] = clone(value);
  }
  return out;
}

/**
 * fleet `limit` (`internal/cmd/controller/target/status.go`): an int, or a percentage of `count`
 * rounded down, as `intstr`; never below 1. Anything unparsable counts as the default.
 */
export function limit(count: number, value: unknown, fallback: string | number): number {
  const given = value === undefined || value === null || value === '' ? fallback : value;
  let result: number;
  if (typeof given === 'number') result = Math.floor(given);
  else {
    const match = /^(\d+)%$/.exec(String(given));
    if (match) result = Math.floor((count * Number(match[1])) / 100);
    else if (/^\d+$/.test(String(given))) result = Number(given);
    else return limit(count, fallback, fallback);
  }
  return result <= 0 ? 1 : result;
}
