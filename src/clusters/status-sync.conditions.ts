/**
 * The conditions the status sync writes: which backend conditions a cluster mirrors, in what order,
 * and how each keeps its transition time. Free of I/O, like the diff that uses them.
 */
import type { RemoteCondition } from '../rancher-backends/backend-driver';
import type { Condition } from './cluster.types';

/**
 * Cluster conditions always shown, first and in this order (Unknown until the backend reports
 * them); every other condition the backend reports follows, in its order.
 */
export const MIRRORED_CONDITIONS = ['Provisioned', 'Updated', 'Ready'];

/**
 * A backend's condition as Paddock stores it: the backend's transition time is kept, its update
 * time is not (it moves on every heartbeat, and would rewrite an unchanged row every cycle).
 */
export function mirroredCondition(c: RemoteCondition): Condition {
  const out: Condition = { type: c.type, status: c.status };
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  if (c.lastTransitionTime) out.lastTransitionTime = c.lastTransitionTime;
  return out;
}

/** Conditions Paddock itself sets; a backend condition of the same name would be ambiguous. */
export const PADDOCK_CONDITIONS = new Set(['BackendReachable', 'InSync']);

/** Keeps a condition's transition time when its status did not change. */
export function withTransition(
  previous: Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition {
  const before = previous.find((c) => c.type === next.type);
  const time = before && before.status === next.status ? (before.lastTransitionTime ?? now) : now;
  return Object.fromEntries(
    Object.entries({ ...next, lastTransitionTime: time }).filter(([, v]) => v !== undefined),
  ) as unknown as Condition;
}
