/**
 * Kubernetes `Status` objects: how a kube-apiserver reports every failure (and a configmap
 * delete's success). Reasons and message wording follow `k8s.io/apimachinery/pkg/api/errors`.
 */

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Array<{ reason: string; message: string; field?: string }>;
}

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    const status: Record<string, unknown> = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
    };
    if (this.details) status.details = this.details;
    status.code = this.code;
    return status;
  }
}

export function successStatus(details: StatusDetails): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** `errors.NewNotFound`: `configmaps "x" not found`. */
export function notFound(resource: string, name: string): KubeError {
  return new KubeError(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
}

/** What the apiserver answers for a path no handler serves. */
export function noSuchPath(): KubeError {
  return new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(resource: string, name: string): KubeError {
  return new KubeError(409, 'AlreadyExists', `${resource} "${name}" already exists`, {
    name,
    kind: resource,
  });
}

/** Optimistic concurrency: a write whose `resourceVersion` is no longer current. */
export function conflict(resource: string, name: string): KubeError {
  return new KubeError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: resource },
  );
}

/** `errors.NewInvalid`: `ConfigMap "x" is invalid: metadata.name: Invalid value: …`. */
export function invalid(kind: string, name: string, field: string, detail: string): KubeError {
  return new KubeError(422, 'Invalid', `${kind} "${name}" is invalid: ${field}: ${detail}`, {
    name,
    kind,
    causes: [
      {
        reason: detail.startsWith('Required value') ? 'FieldValueRequired' : 'FieldValueInvalid',
        message: detail,
        field,
      },
    ],
  });
}

export function badRequest(message: string): KubeError {
  return new KubeError(400, 'BadRequest', message);
}

export function methodNotSupported(): KubeError {
  return new KubeError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function forbidden(resource: string, name: string, why: string): KubeError {
  return new KubeError(403, 'Forbidden', `${resource} "${name}" is forbidden: ${why}`, {
    name,
    kind: resource,
  });
}

/** A watch asked to resume from a version the event history no longer holds. */
export function expired(message: string): KubeError {
  return new KubeError(410, 'Expired', message);
}
