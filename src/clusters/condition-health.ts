/**
 * Which mirrored conditions are unhealthy, named the way the "not true" metrics and alerts name
 * them. Kept free of I/O: the status sync calls it while it diffs a page, and stores the result
 * beside the conditions so that `/metrics` never has to open the JSON of every node.
 */
import type { Condition } from './cluster.types';

/**
 * Kubelet conditions that are healthy when False. Rancher's node objects do not carry them (its
 * node syncer keeps only Ready), but a backend that did report one must not make a healthy node
 * look unhealthy: a "not true" series must mean "unhealthy", so these are exported under their
 * positive name, as Rancher names its own cluster conditions (`NoMemoryPressure`, `NoDiskPressure`):
 * `MemoryPressure=True` → `NoMemoryPressure` not true.
 */
const HEALTHY_WHEN_FALSE: Readonly<Record<string, string>> = {
  MemoryPressure: 'NoMemoryPressure',
  DiskPressure: 'NoDiskPressure',
  PIDPressure: 'NoPIDPressure',
  NetworkUnavailable: 'NetworkAvailable',
};

/**
 * Conditions left out of the per-object gauges: an unreachable backend would otherwise turn every
 * cluster on it into a series at once; it has its own backend-level gauges and alert.
 */
const NOT_EXPORTED = new Set(['BackendReachable']);

/** The longest condition name exported; longer (malformed) types are cut, bounding label size. */
const MAX_TYPE_LENGTH = 63;

/**
 * The names of the conditions that are not healthy, sorted and unique: `Ready` when Ready is not
 * True, `NoMemoryPressure` when MemoryPressure is not False, and so on.
 */
export function unhealthyConditions(conditions: readonly Pick<Condition, 'type' | 'status'>[]): string[] {
  const names = new Set<string>();
  for (const c of conditions) {
    if (NOT_EXPORTED.has(c.type)) continue;
    const positive = HEALTHY_WHEN_FALSE[c.type];
    if (positive !== undefined) {
      if (c.status !== 'False') names.add(positive);
    } else if (c.status !== 'True') {
      names.add(c.type.replace(/,/g, '').slice(0, MAX_TYPE_LENGTH));
    }
  }
  return [...names].sort();
}
