/**
 * Errors on `/k8s/clusters/…` are Kubernetes `Status` objects, not RFC 9457 problems: every client
 * of that path is a Kubernetes client, and client-go (so kubectl) decodes a `Status` and prints its
 * `message` (`error: You must be logged in to the server (the token has expired)`), where any
 * other body is shown as an unknown error. Paddock's stable upper-case code travels as the
 * reason of the first cause (`details.causes[0].reason`), as a problem's `code` does on `/v1`.
 */

/** Kubernetes' `StatusReason` for each status Paddock itself answers with on this path. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details: { causes: Array<{ reason: string; message: string }> };
  code: number;
}

/** A refusal on the Kubernetes API path, rendered as a `Status` with the same HTTP status. */
export class KubeProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. `Retry-After` (client-go waits and retries on 429 and 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): KubeStatus {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: REASONS[this.status] ?? 'Unknown',
      details: { causes: [{ reason: this.code, message: this.message }] },
      code: this.status,
    };
  }
}

export const unauthenticated = (message: string) => new KubeProblem(401, 'UNAUTHENTICATED', message);

export const clusterNotFound = (clusterId: string) =>
  new KubeProblem(404, 'NOT_FOUND', `cluster '${clusterId}' does not exist`);
