/**
 * Rancher norman `/v3` wire shapes shared by every resource (rancher-api.md §2): the resource and
 * collection envelopes, their shape checks, and the mapping of status, conditions, labels and
 * roles that every resource's mapper to Paddock's domain types uses.
 */

import type { ConditionStatus, NodeRoles, RemoteCondition, RemoteStatus } from '../backend-driver';

// ---------------------------------------------------------------- generic envelopes (§2.1, §2.2, §2.6)

export interface V3Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/** Keys every v3 resource carries (framework-added). */
export interface V3Resource {
  id: string;
  type?: string;
  baseType?: string;
  name?: string;
  uuid?: string;
  created?: string;
  createdTS?: number;
  removed?: string;
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
  state?: string;
  transitioning?: string;
  transitioningMessage?: string;
  conditions?: V3Condition[] | null;
  /** Some types keep their conditions in an embedded status object (node pools, etcd backups). */
  status?: { conditions?: V3Condition[] | null } | null;
  links?: Record<string, string>;
  actions?: Record<string, string>;
}

export interface V3Pagination {
  limit?: number;
  total?: number;
  marker?: string;
  next?: string;
  partial?: boolean;
}

export interface V3Collection<T> {
  type: 'collection';
  resourceType?: string;
  pagination?: V3Pagination;
  filters?: Record<string, unknown>;
  data: T[];
}

export interface V3Setting extends V3Resource {
  value?: string;
}

// ---------------------------------------------------------------- shape checks

export function isCollection(value: unknown): value is V3Collection<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'collection' &&
    Array.isArray((value as { data?: unknown }).data)
  );
}

export function isResource(value: unknown): value is V3Resource {
  return typeof value === 'object' && value !== null && typeof (value as { id?: unknown }).id === 'string';
}

// ---------------------------------------------------------------- mapping to the domain

export function toConditionStatus(value: string | undefined): ConditionStatus {
  return value === 'True' || value === 'False' ? value : 'Unknown';
}

export function toConditions(resource: V3Resource): RemoteCondition[] {
  const raw = resource.conditions ?? resource.status?.conditions ?? [];
  return raw
    .filter((c): c is V3Condition & { type: string } => typeof c?.type === 'string')
    .map((c) => {
      const condition: RemoteCondition = { type: c.type, status: toConditionStatus(c.status) };
      if (c.reason) condition.reason = c.reason;
      if (c.message) condition.message = c.message;
      if (c.lastUpdateTime) condition.lastUpdateTime = c.lastUpdateTime;
      if (c.lastTransitionTime) condition.lastTransitionTime = c.lastTransitionTime;
      return condition;
    });
}

export function isTrueIn(resource: V3Resource, type: string): boolean {
  return (resource.conditions ?? []).some((c) => c?.type === type && c.status === 'True');
}

export function toStatus(resource: V3Resource): RemoteStatus {
  const t = resource.transitioning;
  return {
    state: resource.state || 'unknown',
    transitioning: t === 'yes' || t === 'error' ? t : 'no',
    message: resource.transitioningMessage ?? '',
    conditions: toConditions(resource),
  };
}

export function toLabels(labels: Record<string, string> | null | undefined): Record<string, string> {
  return { ...(labels ?? {}) };
}

export function toRoles(source: { etcd?: boolean; controlPlane?: boolean; worker?: boolean }): NodeRoles {
  return {
    etcd: source.etcd === true,
    controlPlane: source.controlPlane === true,
    worker: source.worker === true,
  };
}

/** `v1.30.14-rancher1-1` → `v1.30.14`: Paddock speaks plain semver. */
export function plainKubernetesVersion(version: string | undefined | null): string | null {
  if (!version) return null;
  const match = /^v?\d+\.\d+\.\d+/.exec(version);
  if (!match) return version;
  return match[0].startsWith('v') ? match[0] : `v${match[0]}`;
}

/** `c-abcde:np-x7k2p` → `c-abcde` (the namespace part of a scoped id). */
export function clusterIdOf(scopedId: string): string {
  const colon = scopedId.indexOf(':');
  return colon === -1 ? scopedId : scopedId.slice(0, colon);
}
