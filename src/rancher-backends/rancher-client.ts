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
 *
 * Beside it: rancher-call.types.ts (options, request, response, metrics event),
 * rancher-call-policies.ts (defaults, breaker, retries), rancher-paging.ts, rancher-paths.ts (routes
 * and query strings) and rancher-responses.ts (body parsing and transport-error mapping).
 */

import http from 'node:http';
import https from 'node:https';
import axios, { AxiosInstance } from 'axios';
import {
  BrokenCircuitError,
  BulkheadPolicy,
  CircuitBreakerPolicy,
  IsolatedCircuitError,
  RetryPolicy,
  bulkhead,
  isBulkheadRejectedError,
  timeout,
  TimeoutPolicy,
  TimeoutStrategy,
} from 'cockatiel';
import {
  BackendError,
  BackendErrorKind,
  CallSite,
  classifyHttpError,
  isBackendError,
} from './backend.errors';
import type {
  BackendLogger,
  QueryValue,
  RancherCallObserver,
  RancherClientOptions,
  RancherConnection,
  RancherRequest,
  RancherResponse,
} from './rancher-call.types';
import {
  BREAKER_KINDS,
  DEFAULTS,
  circuitBreakerFor,
  positive,
  retryPolicyFor,
} from './rancher-call-policies';
import { stevePages, v3Pages } from './rancher-paging';
import { fillRoute, queryString } from './rancher-paths';
import { headerValue, parseJsonBody, transportFailure, unexpectedResponse } from './rancher-responses';
import { TokenBucket } from './token-bucket';
import type { V3Setting } from './wire/v3.types';

export type * from './rancher-call.types';
export { fillRoute } from './rancher-paths';

export const PADDOCK_USER_AGENT = 'paddock/0.1.0';

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

    this.breaker = circuitBreakerFor(this.backend, options, this.logger);
    this.retryPolicy = retryPolicyFor(this.backend, options, this.logger);
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

  /** A v3 collection page by page, one page held at a time (`v3Pages`). */
  pages<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): AsyncGenerator<T[]> {
    return v3Pages<T>(this, this.pageSize, route, query, params);
  }

  /** A steve `/v1` collection page by page, one page held at a time (`stevePages`). */
  stevePages<T>(
    route: string,
    query: Record<string, QueryValue> = {},
    params?: Record<string, string>,
  ): AsyncGenerator<T[]> {
    return stevePages<T>(this, this.pageSize, route, query, params);
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
    return unexpectedResponse(this.backend, site, detail, status);
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
      const data = parseJsonBody(site, status, text);
      this.observe(site, status, undefined, performance.now() - started);
      return { status, data: data as T };
    } catch (error) {
      const failure = isBackendError(error)
        ? error
        : transportFailure(site, error, signal.aborted, timeoutMs, this.maxResponseBytes, this.redact);
      this.observe(site, status, failure.kind, performance.now() - started);
      throw failure;
    } finally {
      this.inFlight--;
      if (this.closing && this.inFlight === 0) this.releaseSockets();
    }
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

function secretVariants(token: string): string[] {
  const variants = new Set<string>();
  if (token) variants.add(token);
  const colon = token.indexOf(':');
  // The secret half alone is just as sensitive; the access-key half (`token-xxxxx`) is not a secret.
  if (colon !== -1 && token.length - colon > 8) variants.add(token.slice(colon + 1));
  return [...variants].sort((a, b) => b.length - a.length);
}
