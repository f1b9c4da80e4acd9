/**
 * Wire-level pieces shared by every handler: the norman error envelope (§2.6), the special 401
 * shape of the auth filter (§1.3), and the response value handlers return instead of writing to
 * the socket (so a fault can still drop the connection after the request was applied).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface SimResponse {
  status: number;
  /** A JSON value, or a string sent as text/plain. */
  body: unknown;
  headers?: Record<string, string>;
  /** Writes a JSON body of unknown length itself once the headers are out (a watch); `body` is unused. */
  stream?: (res: ServerResponse) => void;
  /** Takes over the connection of an upgrade request (exec over WebSocket); `status` is 101. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fieldName?: string,
  ) {
    super(message);
  }

  toBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      baseType: 'error',
      type: 'error',
      status: this.status,
      code: this.code,
    };
    if (this.fieldName !== undefined) body.fieldName = this.fieldName;
    body.message = this.message;
    return body;
  }
}

/** The auth filter writes its own body: string status, no code (§1.3). */
export const UNAUTHORIZED_BODY = {
  type: 'error',
  status: '401',
  message: 'Unauthorized 401: must authenticate',
};

export function unauthorized(): SimResponse {
  return { status: 401, body: UNAUTHORIZED_BODY };
}

export function json(status: number, body: unknown): SimResponse {
  return { status, body };
}

export function errorResponse(error: ApiError): SimResponse {
  return { status: error.status, body: error.toBody() };
}

/** The k8s-style not-found message the proxy store passes through (§11.2 item 9). */
export function notFound(k8sPlural: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${k8sPlural}.management.cattle.io "${name}" not found`);
}

export function missingRequired(fieldName: string | undefined, message = ''): ApiError {
  return new ApiError(422, 'MissingRequired', message, fieldName);
}

/** Conversion errors are wrapped: outer code InvalidFormat, inner code in the message (§2.6). */
export function invalidFormat(fieldName: string, innerCode: string, detail: string): ApiError {
  return new ApiError(422, 'InvalidFormat', `${innerCode} 422: ${detail}`, fieldName);
}

export function invalidReference(fieldName: string, type: string, id: string): ApiError {
  return invalidFormat(fieldName, 'InvalidReference', `Not found type: ${type} id: ${id}`);
}

export function invalidAction(message: string): ApiError {
  return new ApiError(422, 'InvalidAction', message);
}

export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, 'MethodNotAllow', message);
}

/** Code used when a fault or a translated error has only a status to go on (§2.6 table). */
export function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'BadRequest';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllow';
    case 409:
      return 'Conflict';
    case 422:
      return 'InvalidFormat';
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'ClusterUnavailable';
    default:
      return status >= 500 ? 'ServerError' : 'BadRequest';
  }
}

/**
 * Parses a request body as a JSON object. An empty body counts as `{}`, since actions without input
 * are posted with no body (§2.7).
 */
export function parseJsonObject(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new ApiError(422, 'InvalidBodyContent', `Failed to parse body: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) {
    throw new ApiError(422, 'InvalidBodyContent', 'Failed to parse body: body is not a JSON object');
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
