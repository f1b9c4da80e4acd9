/**
 * Fleet's state arithmetic (rancher-212.md §4.b; fleet `summary.go`, `bundle_status.go`, `target.go`):
 * one state per bundle deployment, the `BundleSummary` counts, and the worst state for `display`.
 */
import { isPlainObject } from '../http';
import type { KubeObject } from '../kube/store';
import { setCondition, type Condition } from '../state';

export type BundleState =
  'Ready' | 'NotReady' | 'WaitApplied' | 'ErrApplied' | 'OutOfSync' | 'Pending' | 'Modified';

/** `fleet.StateRank`: the worst state names a bundle's `display.state`. */
export const STATE_RANK: Record<BundleState, number> = {
  ErrApplied: 7,
  WaitApplied: 6,
  Modified: 5,
  OutOfSync: 4,
  Pending: 3,
  NotReady: 2,
  Ready: 1,
};

/** `summary.IncrementState` keeps at most this many non-ready entries. */
export const MAX_NON_READY = 10;

export interface NonReadyResource {
  name: string;
  bundleState: BundleState;
  message?: string;
  modifiedStatus?: unknown[];
  nonReadyStatus?: unknown[];
}

export interface BundleSummary {
  notReady: number;
  waitApplied: number;
  errApplied: number;
  outOfSync: number;
  modified: number;
  ready: number;
  pending: number;
  desiredReady: number;
  nonReadyResources?: NonReadyResource[];
}

/** The counter of `state` in a `BundleSummary` (its JSON name). */
const COUNTER: Record<BundleState, keyof Omit<BundleSummary, 'desiredReady' | 'nonReadyResources'>> = {
  Ready: 'ready',
  NotReady: 'notReady',
  WaitApplied: 'waitApplied',
  ErrApplied: 'errApplied',
  OutOfSync: 'outOfSync',
  Pending: 'pending',
  Modified: 'modified',
};

export function emptySummary(): BundleSummary {
  return {
    notReady: 0,
    waitApplied: 0,
    errApplied: 0,
    outOfSync: 0,
    modified: 0,
    ready: 0,
    pending: 0,
    desiredReady: 0,
  };
}

function statusOf(object: KubeObject | undefined): Record<string, unknown> {
  return object && isPlainObject(object.status) ? object.status : {};
}

function specOf(object: KubeObject): Record<string, unknown> {
  return isPlainObject(object.spec) ? object.spec : {};
}

function conditionsOf(status: Record<string, unknown>): Condition[] {
  return Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
}

/**
 * `summary.GetDeploymentState`: applied ID behind the spec → `ErrApplied` when `Deployed` is False,
 * else `WaitApplied`; not ready → `NotReady`; staged ahead of the spec → `OutOfSync`; modified →
 * `Modified`; else `Ready`.
 */
export function deploymentState(bd: KubeObject): BundleState {
  const spec = specOf(bd);
  const status = statusOf(bd);
  if ((status.appliedDeploymentID ?? '') !== (spec.deploymentID ?? '')) {
    const deployed = conditionsOf(status).find((c) => c.type === 'Deployed');
    return deployed?.status === 'False' ? 'ErrApplied' : 'WaitApplied';
  }
  if (status.ready !== true) return 'NotReady';
  if ((spec.stagedDeploymentID ?? '') !== (spec.deploymentID ?? '')) return 'OutOfSync';
  if (status.nonModified !== true) return 'Modified';
  return 'Ready';
}

/** `summary.MessageFromDeployment`: the failing condition's message, else the first non-ready/modified resource. */
export function deploymentMessage(bd: KubeObject | undefined): string {
  if (!bd) return '';
  const status = statusOf(bd);
  for (const type of ['Deployed', 'Ready', 'Monitored']) {
    const condition = conditionsOf(status).find((c) => c.type === type);
    if (condition?.status === 'False' && condition.message) return condition.message;
  }
  const modified = Array.isArray(status.modifiedStatus) ? status.modifiedStatus : [];
  const nonReady = Array.isArray(status.nonReadyStatus) ? status.nonReadyStatus : [];
  const first = (modified[0] ?? nonReady[0]) as Record<string, unknown> | undefined;
  if (first && typeof first.summary === 'object' && first.summary !== null) {
    const messages = (first.summary as Record<string, unknown>).message;
    if (Array.isArray(messages)) return messages.join('; ');
  }
  return '';
}

/** `summary.IncrementState`: count the state and, when not ready, list it (at most 10). */
export function incrementState(
  summary: BundleSummary,
  name: string,
  state: BundleState,
  message: string,
  bd: KubeObject | undefined,
): void {
  summary[COUNTER[state]]++;
  if (state === 'Ready') return;
  const list = (summary.nonReadyResources ??= []);
  if (list.length >= MAX_NON_READY) return;
  const status = statusOf(bd);
  const entry: NonReadyResource = { name, bundleState: state };
  if (message) entry.message = message;
  if (Array.isArray(status.modifiedStatus) && status.modifiedStatus.length > 0)
    entry.modifiedStatus = status.modifiedStatus;
  if (Array.isArray(status.nonReadyStatus) && status.nonReadyStatus.length > 0)
    entry.nonReadyStatus = status.nonReadyStatus;
  list.push(entry);
}

/** The worst state of a summary (`summary.GetSummaryState`), `''` when everything is ready. */
export function worstState(states: Iterable<BundleState>): BundleState | '' {
  let worst: BundleState | '' = '';
  for (const state of states) if (worst === '' || STATE_RANK[state] > STATE_RANK[worst]) worst = state;
  return worst === 'Ready' ? '' : worst;
}

/** `summary.SetReadyConditions` / `ReadyMessage`: `Ready` with a message naming what is not ready. */
export function readyMessage(summary: BundleSummary, kind: string): string {
  const parts: string[] = [];
  const counts: Array<[BundleState, number]> = [
    ['WaitApplied', summary.waitApplied],
    ['ErrApplied', summary.errApplied],
    ['NotReady', summary.notReady],
    ['OutOfSync', summary.outOfSync],
    ['Modified', summary.modified],
    ['Pending', summary.pending],
  ];
  for (const [state, count] of counts) {
    if (count === 0) continue;
    const names = (summary.nonReadyResources ?? [])
      .filter((resource) => resource.bundleState === state)
      .map((resource) => `${kind} ${resource.name}${resource.message ? `: ${resource.message}` : ''}`);
    parts.push(`${state}(${count}) [${names.join('; ')}]`);
  }
  return parts.join('; ');
}

/**
 * Sets a condition only when its status or message changes, so a controller pass that finds
 * nothing new writes nothing (and does not move the object's resourceVersion).
 */
export function putCondition(
  conditions: Condition[],
  type: string,
  status: Condition['status'],
  message = '',
): void {
  const current = conditions.find((c) => c.type === type);
  if (current && current.status === status && (current.message ?? '') === message) return;
  setCondition(conditions, type, status, message);
}
