/**
 * One steve `/v1` type (rancher-api.md §9.1): its schema id, the Kubernetes resource behind it and
 * the hooks its admission webhook and controllers add. Objects live in the local cluster's store
 * (`World.local`), keyed by schema id, so every write bumps one resourceVersion counter.
 */
import { ApiError } from '../http';
import type { KubeObject } from '../kube/store';
import type { World } from '../world';

export interface SteveState {
  name: string;
  error: boolean;
  transitioning: boolean;
  message: string;
}

export type SteveMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface SteveSchema {
  /** `provisioning.cattle.io.cluster`: `<group>.<kind lower-case>`. */
  id: string;
  group: string;
  version: string;
  kind: string;
  /** Kubernetes plural (`clusters`), as in `clusters.provisioning.cattle.io` messages. */
  resource: string;
  namespaced: boolean;
  methods: readonly SteveMethod[];
  /** Derived types (settings) read their items from elsewhere instead of the store. */
  items?(world: World): KubeObject[];
  /** Admission: throws a SteveError to deny. `current` is undefined on create. */
  admit?(world: World, next: KubeObject, current: KubeObject | undefined): void;
  /** Controllers react to a stored create or update. */
  afterWrite?(world: World, stored: KubeObject, previous: KubeObject | undefined): void;
  /**
   * A DELETE: returns the object still present (finalizers pending, answered 200) or undefined
   * when it went at once (answered 204). Absent → removed at once.
   */
  remove?(world: World, current: KubeObject): KubeObject | undefined;
  state?(world: World, object: KubeObject): SteveState;
  /** Brings derived objects up to date before a request reads or writes this type (Fleet clusters). */
  refresh?(world: World): void;
}

/** An error steve writes: the norman codes, without `baseType`, with empty `links` (§9.1). */
export class SteveError extends ApiError {
  /** `apiserver pkg/handlers/error.go`: `{type:"error", links:{}, code, message, status}`. */
  override toBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      type: 'error',
      links: {},
      code: this.code,
      message: this.message,
      status: this.status,
    };
    if (this.fieldName) body.fieldName = this.fieldName;
    return body;
  }
}

/** Full name of a resource in Kubernetes messages: `clusters.provisioning.cattle.io`. */
export function qualified(schema: SteveSchema): string {
  return `${schema.resource}.${schema.group}`;
}

export function apiVersionOf(schema: SteveSchema): string {
  return `${schema.group}/${schema.version}`;
}

export function notFoundError(schema: SteveSchema, name: string): SteveError {
  return new SteveError(404, 'NotFound', `${qualified(schema)} "${name}" not found`);
}

export function conflictError(schema: SteveSchema, name: string): SteveError {
  return new SteveError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(schema)} "${name}": the object has been modified; ` +
      'please apply your changes to the latest version and try again',
  );
}

/** A validating webhook's denial as the kube-apiserver words it (§9.3). */
export function admissionDenied(status: number, code: string, webhook: string, message: string): SteveError {
  return new SteveError(status, code, `admission webhook "${webhook}" denied the request: ${message}`);
}

/** Keys `<namespace>/<name>` (or `<name>`), the steve `id`. */
export function objectId(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}
