/**
 * Steve `/v1` envelopes, shape checks, ids and the condition and status mapping every provisioning
 * v2 resource shares.
 */

import type { ConditionStatus, RemoteCondition, RemoteStatus } from '../backend-driver';

/** Where Rancher keeps provisioning clusters, their machine configs and machines. */
export const FLEET_NAMESPACE = 'fleet-default';

export interface SteveMetadata {
  name?: string;
  namespace?: string;
  generateName?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  resourceVersion?: string;
  /** Moves on every spec change (kube-apiserver); `status.observedGeneration` follows it. */
  generation?: number;
  deletionTimestamp?: string | null;
  creationTimestamp?: string;
  state?: { name?: string; error?: boolean; transitioning?: boolean; message?: string } | null;
}

export interface SteveCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
}

export interface SteveObject {
  id?: string;
  type?: string;
  metadata?: SteveMetadata;
}

export interface SteveCollection<T> {
  type: 'collection';
  revision?: string;
  continue?: string;
  data: T[];
}

export function isSteveCollection(value: unknown): value is SteveCollection<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'collection' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

export function isSteveObject(value: unknown): value is SteveObject & { metadata: SteveMetadata } {
  const metadata = (value as { metadata?: unknown } | null)?.metadata;
  return (
    typeof metadata === 'object' && metadata !== null && typeof (metadata as SteveMetadata).name === 'string'
  );
}

/** `fleet-default/prod-a`: a steve id. */
export const steveId = (o: SteveObject): string =>
  o.id ?? `${o.metadata?.namespace ?? FLEET_NAMESPACE}/${o.metadata?.name ?? ''}`;

export function splitClusterId(id: string): { namespace: string; name: string } | null {
  const parts = id.split('/');
  if (parts.length !== 2 || parts.some((p) => p === '')) return null;
  return { namespace: parts[0], name: parts[1] };
}

/** `base` with each of `over` in place of the one of the same type (or added after them). */
export function mergeConditions(base: RemoteCondition[], over: RemoteCondition[]): RemoteCondition[] {
  const byType = new Map(base.map((c) => [c.type, c]));
  for (const c of over) byType.set(c.type, c);
  return [...byType.values()];
}

export function toConditionStatus(value: string | undefined): ConditionStatus {
  return value === 'True' || value === 'False' ? value : 'Unknown';
}

export function toConditions(raw: SteveCondition[] | null | undefined): RemoteCondition[] {
  return (raw ?? [])
    .filter((c): c is SteveCondition & { type: string } => typeof c?.type === 'string')
    .map((c) => {
      const condition: RemoteCondition = { type: c.type, status: toConditionStatus(c.status) };
      if (c.reason) condition.reason = c.reason;
      if (c.message) condition.message = c.message;
      if (c.lastUpdateTime) condition.lastUpdateTime = c.lastUpdateTime;
      return condition;
    });
}

/** Steve's summary (`metadata.state`) in the domain's words; a deletion is `removing` whatever it says. */
export function toStatus(o: SteveObject, conditions: SteveCondition[] | null | undefined): RemoteStatus {
  const state = o.metadata?.state ?? {};
  return {
    state: o.metadata?.deletionTimestamp ? 'removing' : state.name || 'unknown',
    transitioning: state.error ? 'error' : state.transitioning ? 'yes' : 'no',
    message: state.message ?? '',
    conditions: toConditions(conditions),
  };
}

export const labelsOf = (o: SteveObject): Record<string, string> => ({ ...(o.metadata?.labels ?? {}) });
