/**
 * `RancherClient`: the HTTP layer for one Rancher backend (one instance per backend).
 *
 * It owns everything about *how* calls are made, so drivers only say *what* to call:
 * - an axios instance with the base URL, `Authorization: Bearer`, `Accept: application/json` and a
 *   non-browser User-Agent (a "mozilla" agent gets CSRF checks and HTML, rancher-api.md §1.2),
 *   keep-alive agents, no redirects and a hard deadline on every attempt (cockatiel timeout);
 * - a per-backend concurrency limit with a queue (cockatiel bulkhead) and a call-rate limit
 *   (token bucket), so one busy Paddock cannot flood one Rancher;
 * - retries with exponential backoff and jitter for safe calls only (reads and idempotent writes);
 *   creates are never retried here, because a lost answer must be resolved by a look-up first;
 * - a consecutive-failure circuit breaker (cockatiel) that fails fast with kind `circuit-open`;
 * - pagination (`pages` follows `pagination.next` until absent, one page at a time);
 * - an observer hook per HTTP attempt for metrics, and every failure as a `BackendError`.
 *
 * The token lives only in the axios default headers: it is never logged, never put in an error and
 * redacted from any server text that is quoted.
 */

import http from 'node:http';
import https from 'node:https';
import axios, { AxiosInstance, isAxiosError } from 'axios';
import {
  BrokenCircuitError,
  BulkheadPolicy,
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  DelegateBackoff,
  IsolatedCircuitError,
  RetryPolicy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  isBulkheadRejectedError,
  retry,
  timeout,
  TimeoutPolicy,
  TimeoutStrategy,
} from 'cockatiel';
import {
  BackendError,
  BackendErrorKind,
  CallSite,
  HttpMethod,
  classifyHttpError,
  classifyTransportError,
  isBackendError,
} from './backend.errors';
import { TokenBucket } from './token-bucket';
import { isCollection, type V3Setting } from './wire/v3.types';

export const PADDOCK_USER_AGENT = 'paddock/0.1.0';

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

type QueryValue = string | number | boolean | undefined | Array<string | number>;

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

const DEFAULTS = {
  timeoutMs: 10_000,
  maxConcurrent: 8,
  maxQueued: 1000,
  ratePerSecond: 50,
  retries: 3,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 5_000,
  maxRetryAfterMs: 30_000,
  pageSize: 1000,
  consecutiveFailures: 5,
  halfOpenAfterMs: 10_000,
  maxResponseBytes: 256 * 1024 * 1024,
};

/** Failures that say "the server is not well", as opposed to "the server said no". */
const BREAKER_KINDS: ReadonlySet<BackendErrorKind> = new Set(['network', 'timeout', 'server', 'unavailable']);

export class RancherClient {
  readonly backend: string;
  private readonly http: AxiosInstance;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly bulkhead: BulkheadPolicy;
  private readonly bucket: TokenBucket;
  private readonly breaker: CircuitBreakerPolicy | null;
  private readonly retryPolicy: RetryPolicy | null;
  private readonly secrets: string[];
  private readonly timeoutMs: number;
  /** The deadline of one attempt (cockatiel timeout; calls with their own `timeoutMs` get their own). */
  private readonly deadline: TimeoutPolicy;
  private readonly pageSize: number;
  private readonly maxResponseBytes: number;
  private readonly observer?: RancherCallObserver;
  private readonly logger?: BackendLogger;
  private inFlight = 0;
  private closing = false;

  constructor(connection: RancherConnection, options: RancherClientOptions = {}) {
    this.backend = connection.name;
    const base = connection.url.replace(/\/+$/, '');
    const userAgent = options.userAgent ?? PADDOCK_USER_AGENT;
    if (/mozilla/i.test(userAgent)) {
      throw new Error(
        'the Rancher client User-Agent must not contain "mozilla" (Rancher treats it as a browser)',
      );
    }
    this.secrets = secretVariants(connection.token);
    this.timeoutMs = positive(options.timeoutMs, DEFAULTS.timeoutMs);
    this.deadline = timeout(this.timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    this.pageSize = Math.min(10_000, positive(options.pageSize, DEFAULTS.pageSize));
    this.maxResponseBytes = positive(options.maxResponseBytes, DEFAULTS.maxResponseBytes);
    this.observer = options.observer;
    this.logger = options.logger;

    const maxConcurrent = positive(options.maxConcurrent, DEFAULTS.maxConcurrent);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: maxConcurrent });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: maxConcurrent,
      ca: options.tls?.ca,
      rejectUnauthorized: options.tls?.rejectUnauthorized ?? true,
    });
    this.http = axios.create({
      baseURL: base,
      headers: {
        Authorization: `Bearer ${connection.token}`,
        Accept: 'application/json',
        'User-Agent': userAgent,
      },
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      maxRedirects: 0,
      // Bodies are parsed here, not by axios, so a non-JSON answer (the HTML API browser, a proxy's
      // error page) becomes a clear `unexpected-response` instead of a string posing as data.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxContentLength: this.maxResponseBytes,
      proxy: false,
    });

    this.bulkhead = bulkhead(maxConcurrent, options.maxQueued ?? DEFAULTS.maxQueued);
    const rate = options.ratePerSecond ?? DEFAULTS.ratePerSecond;
    this.bucket = new TokenBucket(rate, options.burst ?? Math.max(1, Math.ceil(rate)));

    if (options.circuitBreaker === false) {
      this.breaker = null;
    } else {
      const cb = options.circuitBreaker ?? {};
      // The inner function returns (rather than throws) errors that do not count, so only the
      // failures in BREAKER_KINDS reach the breaker and any answer from the server resets it.
      this.breaker = circuitBreaker(
        handleWhen((e) => isBackendError(e) && BREAKER_KINDS.has(e.kind)),
        {
          halfOpenAfter: positive(cb.halfOpenAfterMs, DEFAULTS.halfOpenAfterMs),
          breaker: new ConsecutiveBreaker(positive(cb.consecutiveFailures, DEFAULTS.consecutiveFailures)),
        },
      );
      this.breaker.onBreak(() =>
        this.logger?.warn(
          { backend: this.backend },
          'Rancher backend circuit opened: calls fail fast until it recovers',
        ),
      );
      this.breaker.onReset(() =>
        this.logger?.warn({ backend: this.backend }, 'Rancher backend circuit closed again'),
      );
    }

    const retries = Math.max(0, Math.floor(options.retries ?? DEFAULTS.retries));
    if (retries === 0) {
      this.retryPolicy = null;
    } else {
      const baseDelay = positive(options.retryBaseDelayMs, DEFAULTS.retryBaseDelayMs);
      const maxDelay = positive(options.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs);
      const maxRetryAfter = positive(options.maxRetryAfterMs, DEFAULTS.maxRetryAfterMs);
      this.retryPolicy = retry(
        // circuit-open is retryable for the caller, but retrying it here would only spin.
        handleWhen((e) => isBackendError(e) && e.retryable && e.kind !== 'circuit-open'),
        {
          maxAttempts: retries,
          backoff: new DelegateBackoff((ctx) => {
            const error = 'error' in ctx.result ? ctx.result.error : undefined;
            const ceiling = Math.min(maxDelay, baseDelay * 2 ** (ctx.attempt - 1));
            // "Equal jitter": never less than half the step, so retries still back off.
            let delay = ceiling / 2 + Math.random() * (ceiling / 2);
            if (isBackendError(error) && error.retryAfterSeconds !== undefined) {
              delay = Math.max(delay, Math.min(maxRetryAfter, error.retryAfterSeconds * 1000));
            }
            return Math.round(delay);
          }),
        },
      );
      this.retryPolicy.onRetry((event) => {
        const error = 'error' in event ? event.error : undefined;
        this.logger?.warn(
          {
            backend: this.backend,
            attempt: event.attempt,
            delayMs: event.delay,
            ...(isBackendError(error)
              ? { method: error.method, path: error.path, errorKind: error.kind, status: error.status }
              : {}),
          },
          'retrying Rancher call',
        );
      });
    }
  }

  /**
   * Releases the keep-alive sockets. Calls still in flight (a driver replaced while a job uses it)
   * finish first; the sockets are released when the last one ends.
   */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.releaseSockets();
  }

  private releaseSockets(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** Removes the token (and its secret half) from any text before it leaves the client. */
  redact = (text: string): string => {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  };

  /** One call, with retries when it is safe, throwing `BackendError` on any failure. */
  async request<T = unknown>(req: RancherRequest): Promise<RancherResponse<T>> {
    const path = fillRoute(req.route, req.params);
    const site: CallSite = { backend: this.backend, method: req.method, path, route: req.route };
    const idempotent = req.idempotent ?? req.method === 'GET';
    const attempt = () => this.guarded<T>(site, req);
    if (!idempotent || !this.retryPolicy) return attempt();
    return this.retryPolicy.execute(attempt);
  }

  /**
   * A v3 collection page by page, following `pagination.next` until it is absent. The number of
   * calls grows with the number of pages, never with the number of items, and only one page is
   * held at a time: a consumer that writes each page away keeps its memory flat whatever the size.
   */
  async *pages<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): AsyncGenerator<T[]> {
    const site: CallSite = { backend: this.backend, method: 'GET', path: fillRoute(route, params), route };
    const seenMarkers = new Set<string>();
    let marker: string | undefined;
    for (;;) {
      const res = await this.request<unknown>({
        method: 'GET',
        route,
        params,
        query: { ...query, limit: this.pageSize, marker },
      });
      if (!isCollection(res.data)) throw this.unexpected(site, 'expected a collection');
      const next = res.data.pagination?.next;
      yield res.data.data as T[];
      if (!next) return;
      // `next` is the server's own absolute URL, which may name a host we cannot reach (server-url
      // behind a proxy); only its marker matters, so the next page is requested through our base URL.
      const nextMarker = markerOf(next);
      if (!nextMarker || seenMarkers.has(nextMarker)) {
        throw this.unexpected(site, 'pagination.next does not advance (missing or repeated marker)');
      }
      seenMarkers.add(nextMarker);
      marker = nextMarker;
    }
  }

  /**
   * A steve `/v1` collection page by page, following `continue` until it is empty (rancher-api.md
   * §9.1): as `pages`, one page held at a time and one call per page.
   */
  async *stevePages<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): AsyncGenerator<T[]> {
    const site: CallSite = { backend: this.backend, method: 'GET', path: fillRoute(route, params), route };
    const seen = new Set<string>();
    let token: string | undefined;
    for (;;) {
      const res = await this.request<unknown>({
        method: 'GET',
        route,
        params,
        query: { ...query, limit: this.pageSize, continue: token },
      });
      if (!isCollection(res.data)) throw this.unexpected(site, 'expected a collection');
      const next = (res.data as { continue?: unknown }).continue;
      yield res.data.data as T[];
      if (typeof next !== 'string' || next === '') return;
      if (seen.has(next)) throw this.unexpected(site, 'continue does not advance (repeated token)');
      seen.add(next);
      token = next;
    }
  }

  /** Every item of a steve collection, for short lists (a look-up by label). */
  async listAllSteve<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.stevePages<T>(route, query, params)) items.push(...page);
    return items;
  }

  /** Every item of a v3 collection, for lists known to be short (one cluster's pools, a look-up). */
  async listAll<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): Promise<T[]> {
    const items: T[] = [];
    for await (const page of this.pages<T>(route, query, params)) items.push(...page);
    return items;
  }

  /**
   * The server's version, as every backend kind probes it: `/ping` needs no auth, so it only
   * proves the server is up; the `server-version` setting read proves the token, and its round
   * trip is the probe's latency.
   */
  async serverVersion(): Promise<{ version: string; latencyMs: number }> {
    const ping = await this.request<string>({ method: 'GET', route: '/ping', responseType: 'text' });
    if (typeof ping.data !== 'string' || ping.data.trim() !== 'pong') {
      throw this.unexpected({ method: 'GET', path: '/ping' }, 'GET /ping did not answer "pong"', ping.status);
    }
    const route = '/v3/settings/server-version';
    const started = performance.now();
    const res = await this.request<V3Setting>({ method: 'GET', route });
    const latencyMs = Math.round((performance.now() - started) * 10) / 10;
    const version: unknown = (res.data as V3Setting | null)?.value;
    if (typeof version !== 'string' || version === '') {
      throw this.unexpected({ method: 'GET', path: route }, 'server-version has no value', res.status);
    }
    return { version, latencyMs };
  }

  /** A `BackendError` for an answer whose shape is not what Rancher sends. */
  unexpected(site: Pick<CallSite, 'method' | 'path'>, detail: string, status?: number): BackendError {
    return new BackendError({
      kind: 'unexpected-response',
      retryable: false,
      backend: this.backend,
      method: site.method,
      path: site.path,
      status,
      detail,
    });
  }

  private async guarded<T>(site: CallSite, req: RancherRequest): Promise<RancherResponse<T>> {
    if (!this.breaker) return this.limited<T>(site, req);
    let outcome: { ok: RancherResponse<T> } | { passthrough: unknown };
    try {
      outcome = await this.breaker.execute(async () => {
        try {
          return { ok: await this.limited<T>(site, req) };
        } catch (error) {
          if (isBackendError(error) && BREAKER_KINDS.has(error.kind)) throw error;
          return { passthrough: error };
        }
      });
    } catch (error) {
      if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
        this.observe(site, undefined, 'circuit-open', 0);
        throw new BackendError({
          kind: 'circuit-open',
          retryable: true,
          backend: this.backend,
          method: site.method,
          path: site.path,
          detail: 'recent calls to this backend kept failing; failing fast until it recovers',
        });
      }
      throw error;
    }
    if ('passthrough' in outcome) throw outcome.passthrough;
    return outcome.ok;
  }

  private async limited<T>(site: CallSite, req: RancherRequest): Promise<RancherResponse<T>> {
    try {
      return await this.bulkhead.execute(async () => {
        await this.bucket.acquire();
        return this.send<T>(site, req);
      });
    } catch (error) {
      if (isBulkheadRejectedError(error)) {
        this.observe(site, undefined, 'rate-limited', 0);
        throw new BackendError({
          kind: 'rate-limited',
          retryable: true,
          backend: this.backend,
          method: site.method,
          path: site.path,
          detail: 'too many calls queued for this backend in Paddock',
        });
      }
      throw error;
    }
  }

  private send<T>(site: CallSite, req: RancherRequest): Promise<RancherResponse<T>> {
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const deadline =
      timeoutMs === this.timeoutMs
        ? this.deadline
        : timeout(timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    // Cooperative: at the deadline the signal aborts the request and axios rejects at once, so the
    // failure is classified here (as a timeout) with the status and timings it had.
    return deadline.execute(({ signal }) => this.attemptOnce<T>(site, req, signal, timeoutMs));
  }

  private async attemptOnce<T>(
    site: CallSite,
    req: RancherRequest,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<RancherResponse<T>> {
    const started = performance.now();
    let status: number | undefined;
    this.inFlight++;
    try {
      const res = await this.http.request<string>({
        method: req.method,
        url: site.path + queryString(req.query),
        data: req.body === undefined ? undefined : JSON.stringify(req.body),
        headers: req.body === undefined ? undefined : { 'Content-Type': 'application/json' },
        // axios' own `timeout` is a socket-idle timer; the signal bounds the whole attempt.
        timeout: timeoutMs,
        signal,
      });
      status = res.status;
      const retryAfter = headerValue(res.headers['retry-after']);
      if (status < 200 || status >= 300) {
        throw classifyHttpError(site, status, res.data, retryAfter, this.redact);
      }
      const text = typeof res.data === 'string' ? res.data : '';
      if (req.responseType === 'text') {
        this.observe(site, status, undefined, performance.now() - started);
        return { status, data: text as T };
      }
      const data = this.parseJson(site, status, text);
      this.observe(site, status, undefined, performance.now() - started);
      return { status, data: data as T };
    } catch (error) {
      const failure = isBackendError(error)
        ? error
        : this.transportError(site, error, signal.aborted, timeoutMs);
      this.observe(site, status, failure.kind, performance.now() - started);
      throw failure;
    } finally {
      this.inFlight--;
      if (this.closing && this.inFlight === 0) this.releaseSockets();
    }
  }

  private parseJson(site: CallSite, status: number, text: string): unknown {
    if (text.trim() === '') return undefined; // 204 after a delete of something already gone
    try {
      return JSON.parse(text);
    } catch {
      const hint = text.trimStart().startsWith('<')
        ? 'an HTML page (is the URL a Rancher API server?)'
        : 'non-JSON text';
      throw this.unexpected(site, `expected JSON, got ${hint}`, status);
    }
  }

  private transportError(site: CallSite, error: unknown, timedOut: boolean, timeoutMs: number): BackendError {
    if (isAxiosError(error)) {
      const cause = (error as { cause?: { code?: string } }).cause;
      const code = error.code === 'ERR_CANCELED' ? undefined : (error.code ?? cause?.code);
      // Response bigger than maxContentLength: the server answered, we refused to read it all.
      if (error.message.includes('maxContentLength')) {
        return this.unexpected(site, `response larger than ${this.maxResponseBytes} bytes`);
      }
      const message = error.code === 'ERR_CANCELED' ? 'request aborted' : error.message;
      return classifyTransportError(site, code, timedOut, timeoutMs, message, this.redact);
    }
    const message = error instanceof Error ? error.message : String(error);
    return classifyTransportError(site, undefined, timedOut, timeoutMs, message, this.redact);
  }

  private observe(
    site: CallSite,
    status: number | undefined,
    errorKind: BackendErrorKind | undefined,
    durationMs: number,
  ) {
    if (!this.observer) return;
    try {
      this.observer.onCall({
        backend: this.backend,
        method: site.method,
        route: site.route,
        status,
        errorKind,
        durationMs,
      });
    } catch {
      // Metrics must never break a call.
    }
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function secretVariants(token: string): string[] {
  const variants = new Set<string>();
  if (token) variants.add(token);
  const colon = token.indexOf(':');
  // The secret half alone is just as sensitive; the access-key half (`token-xxxxx`) is not a secret.
  if (colon !== -1 && token.length - colon > 8) variants.add(token.slice(colon + 1));
  return [...variants].sort((a, b) => b.length - a.length);
}

/** Ids go into the path raw except for characters that would change the URL's structure; `:` stays, as Rancher expects (§2.5). */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

export function fillRoute(route: string, params: Record<string, string> = {}): string {
  return route.replace(/:([A-Za-z]\w*)/g, (_match, key: string) => {
    const value = params[key];
    if (value === undefined || value === '') throw new Error(`missing path parameter "${key}" for ${route}`);
    return encodeSegment(value);
  });
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // norman takes repeated keys for `_in` filters, not `key[]=` or comma lists (§2.4).
    if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

function markerOf(next: string): string | undefined {
  try {
    return new URL(next, 'http://placeholder.invalid').searchParams.get('marker') ?? undefined;
  } catch {
    return undefined;
  }
}

function headerValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}
