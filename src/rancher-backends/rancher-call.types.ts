/**
 * What a caller gives a `RancherClient` and gets back: the connection, the client's options, one
 * request and its response, and the per-attempt event metrics observe.
 */

import type { BackendErrorKind, HttpMethod } from './backend.errors';

/**
 * One HTTP attempt, as seen by metrics. `status` is set when the server answered; `errorKind` when
 * the attempt failed (both for an HTTP error; only `errorKind` when there was no answer, including
 * calls refused locally by the circuit breaker or the queue limit).
 */
export interface RancherCallEvent {
  backend: string;
  method: HttpMethod;
  /** Templated path, e.g. `/v3/clusters/:id` (bounded cardinality). */
  route: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Set whenever the attempt failed (also alongside `status` for HTTP errors). */
  errorKind?: BackendErrorKind;
  durationMs: number;
}

export interface RancherCallObserver {
  onCall(event: RancherCallEvent): void;
}

/** The minimal logger the client needs; pino and Nest loggers fit through a one-line adapter. */
export interface BackendLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface CircuitBreakerOptions {
  /** Consecutive network/timeout/5xx failures that open the circuit (default 5). */
  consecutiveFailures?: number;
  /** How long the circuit stays open before one trial call is let through (default 10 s). */
  halfOpenAfterMs?: number;
}

export interface RancherClientOptions {
  /** Deadline for one HTTP attempt, from send to the last byte (default 10 000 ms). */
  timeoutMs?: number;
  /** Calls in flight at once against this backend (default 8). */
  maxConcurrent?: number;
  /** Calls waiting for a slot before new ones are refused with `rate-limited` (default 1000). */
  maxQueued?: number;
  /** Sustained calls per second against this backend (default 50; 0 = unlimited). */
  ratePerSecond?: number;
  /** Calls allowed at once after idling (default: one second's worth, `ratePerSecond`). */
  burst?: number;
  /** Extra attempts for safe calls (default 3; 0 disables retries). */
  retries?: number;
  /** First backoff delay (default 200 ms); doubles per attempt, with jitter. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay (default 5 000 ms). */
  retryMaxDelayMs?: number;
  /** Longest `Retry-After` honoured inside one call (default 30 000 ms); longer ones are capped. */
  maxRetryAfterMs?: number;
  /** `limit` for list pages (default 1000, Rancher's own default; max 10 000). */
  pageSize?: number;
  /** Consecutive-failure breaker settings, or `false` to disable it. */
  circuitBreaker?: CircuitBreakerOptions | false;
  observer?: RancherCallObserver;
  logger?: BackendLogger;
  /** Must not contain "mozilla" (rancher-api.md §1.2). */
  userAgent?: string;
  /** TLS for https backends with a private CA. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Largest response body accepted (default 256 MiB). */
  maxResponseBytes?: number;
}

export interface RancherConnection {
  name: string;
  url: string;
  token: string;
}

export type QueryValue = string | number | boolean | undefined | Array<string | number>;

export interface RancherRequest {
  method: HttpMethod;
  /** Templated path: `/v3/clusters/:id`. Placeholders are filled from `params`. */
  route: string;
  params?: Record<string, string>;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /**
   * Whether sending the call twice is harmless, so the client may retry it. Defaults to true for
   * GET and false for everything else; creates must never set it.
   */
  idempotent?: boolean;
  /** `text` for non-JSON endpoints such as `/ping`. */
  responseType?: 'json' | 'text';
  timeoutMs?: number;
}

export interface RancherResponse<T> {
  status: number;
  data: T;
}
