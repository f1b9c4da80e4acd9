/**
 * How the outcome of one `RancherClient` attempt becomes data or a `BackendError`: the body parsed
 * as JSON, and transport failures (axios errors, aborts, oversized bodies) mapped to error kinds.
 */

import { isAxiosError } from 'axios';
import { BackendError, CallSite, classifyTransportError } from './backend.errors';

/** A `BackendError` for an answer whose shape is not what Rancher sends. */
export function unexpectedResponse(
  backend: string,
  site: Pick<CallSite, 'method' | 'path'>,
  detail: string,
  status?: number,
): BackendError {
  return new BackendError({
    kind: 'unexpected-response',
    retryable: false,
    backend,
    method: site.method,
    path: site.path,
    status,
    detail,
  });
}

export function parseJsonBody(site: CallSite, status: number, text: string): unknown {
  if (text.trim() === '') return undefined; // 204 after a delete of something already gone
  try {
    return JSON.parse(text);
  } catch {
    const hint = text.trimStart().startsWith('<')
      ? 'an HTML page (is the URL a Rancher API server?)'
      : 'non-JSON text';
    throw unexpectedResponse(site.backend, site, `expected JSON, got ${hint}`, status);
  }
}

export function transportFailure(
  site: CallSite,
  error: unknown,
  timedOut: boolean,
  timeoutMs: number,
  maxResponseBytes: number,
  redact: (text: string) => string,
): BackendError {
  if (isAxiosError(error)) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = error.code === 'ERR_CANCELED' ? undefined : (error.code ?? cause?.code);
    // Response bigger than maxContentLength: the server answered, we refused to read it all.
    if (error.message.includes('maxContentLength')) {
      return unexpectedResponse(site.backend, site, `response larger than ${maxResponseBytes} bytes`);
    }
    const message = error.code === 'ERR_CANCELED' ? 'request aborted' : error.message;
    return classifyTransportError(site, code, timedOut, timeoutMs, message, redact);
  }
  const message = error instanceof Error ? error.message : String(error);
  return classifyTransportError(site, undefined, timedOut, timeoutMs, message, redact);
}

export function headerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}
