/**
 * `BackendError`: the one error type a backend driver throws, in Paddock's words.
 *
 * Callers decide what to do from three fields: `kind` (what went wrong), `retryable` (whether trying
 * again can help) and `ambiguous` (whether a write may have been applied even though it failed, so
 * the caller must look the object up before creating it again). Rancher's own error code, field name
 * and message are kept for diagnostics, but nothing here ever carries the backend token.
 *
 * The mapping from HTTP outcomes to kinds follows `shared/rancher-api.md` §1.3, §1.4, §2.6, §10 and
 * §11.9; `classifyHttpError` and `classifyTransportError` are the only places that encode it.
 */

export type BackendErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'permission-window'
  | 'not-found'
  | 'conflict'
  | 'invalid'
  | 'server'
  | 'unavailable'
  | 'rate-limited'
  | 'timeout'
  | 'network'
  | 'circuit-open'
  | 'unexpected-response';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface BackendErrorInit {
  kind: BackendErrorKind;
  retryable: boolean;
  ambiguous?: boolean;
  backend: string;
  method: HttpMethod;
  /** Request path without the query string. */
  path: string;
  status?: number;
  rancherCode?: string;
  fieldName?: string;
  /** Seconds the server asked us to wait (`Retry-After`), when it did. */
  retryAfterSeconds?: number;
  /** Low-level error code for transport failures (`ECONNRESET`, `ECONNREFUSED`, ...). */
  transportCode?: string;
  /** Human-readable detail; callers must already have removed any secret. */
  detail: string;
}

export class BackendError extends Error {
  readonly kind: BackendErrorKind;
  readonly retryable: boolean;
  readonly ambiguous: boolean;
  readonly backend: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly status?: number;
  readonly rancherCode?: string;
  readonly fieldName?: string;
  readonly retryAfterSeconds?: number;
  readonly transportCode?: string;
  /** Rancher's (or the transport's) own message, without our prefix. */
  readonly detail: string;

  constructor(init: BackendErrorInit) {
    const where = `${init.method} ${init.path} on backend ${init.backend}`;
    const status =
      init.status === undefined
        ? ''
        : ` (HTTP ${init.status}${init.rancherCode ? ` ${init.rancherCode}` : ''})`;
    const field = init.fieldName ? ` [field ${init.fieldName}]` : '';
    super(`${init.kind}: ${where}${status}${field}${init.detail ? `: ${init.detail}` : ''}`);
    this.name = 'BackendError';
    this.kind = init.kind;
    this.retryable = init.retryable;
    this.ambiguous = init.ambiguous ?? false;
    this.backend = init.backend;
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.rancherCode = init.rancherCode;
    this.fieldName = init.fieldName;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.transportCode = init.transportCode;
    this.detail = init.detail;
  }

  /** Safe for logs and API error bodies: only the fields above, never headers or config. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      retryable: this.retryable,
      ambiguous: this.ambiguous,
      backend: this.backend,
      method: this.method,
      path: this.path,
      status: this.status,
      rancherCode: this.rancherCode,
      fieldName: this.fieldName,
      retryAfterSeconds: this.retryAfterSeconds,
      transportCode: this.transportCode,
    };
  }
}

export function isBackendError(error: unknown): error is BackendError {
  return error instanceof BackendError;
}

/** Where a failed call went; `route` is the templated path (`/v3/clusters/:id`). */
export interface CallSite {
  backend: string;
  method: HttpMethod;
  path: string;
  route: string;
}

/** Parsed error body. Rancher sends norman envelopes, the 401 filter shape, or bare `{message}`. */
interface ErrorBody {
  code?: string;
  message?: string;
  fieldName?: string;
}

export function parseErrorBody(raw: unknown): ErrorBody {
  let value: unknown = raw;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.startsWith('{')) {
      try {
        value = JSON.parse(text);
      } catch {
        return { message: shorten(text) };
      }
    } else {
      // Plain text or HTML: keep a short hint only (an HTML page is useless in a log line).
      return text && !text.startsWith('<') ? { message: shorten(text) } : {};
    }
  }
  if (value === null || typeof value !== 'object') return {};
  const body = value as Record<string, unknown>;
  return {
    code: typeof body.code === 'string' && body.code ? body.code : undefined,
    message: typeof body.message === 'string' ? shorten(body.message) : undefined,
    fieldName: typeof body.fieldName === 'string' && body.fieldName ? body.fieldName : undefined,
  };
}

function shorten(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Methods whose failure can never have changed anything on the server. */
function isRead(method: HttpMethod): boolean {
  return method === 'GET';
}

// Rancher answers a bad kubernetesVersion with 500 ServerError (§3.1); that is a permanent refusal.
const INVALID_VERSION_500 = /kubernetesVersion .*(not supported|deprecated|not of valid semver)/i;

/**
 * Maps an HTTP error status (anything outside 2xx) to a `BackendError`.
 * `redact` removes secrets from any text that came from the server.
 */
export function classifyHttpError(
  site: CallSite,
  status: number,
  rawBody: unknown,
  retryAfterHeader: string | undefined,
  redact: (text: string) => string,
): BackendError {
  const body = parseErrorBody(rawBody);
  const base = {
    backend: site.backend,
    method: site.method,
    path: site.path,
    status,
    rancherCode: body.code,
    fieldName: body.fieldName,
    detail: redact(body.message ?? ''),
  };
  const write = !isRead(site.method);

  if (status === 401) return new BackendError({ ...base, kind: 'unauthorized', retryable: false });
  if (status === 403) {
    // §11.9: right after a cluster create, the pool create is refused until Rancher has set up the
    // cluster's namespace and roles. It is a window, not a verdict.
    if (site.method === 'POST' && site.route === '/v3/nodepools') {
      return new BackendError({ ...base, kind: 'permission-window', retryable: true });
    }
    return new BackendError({ ...base, kind: 'forbidden', retryable: false });
  }
  if (status === 404) return new BackendError({ ...base, kind: 'not-found', retryable: false });
  if (status === 409) {
    // A merge PUT that lost a race against a controller can simply be sent again; a 409 on a create
    // means the object exists, which the caller must resolve by looking it up.
    return new BackendError({ ...base, kind: 'conflict', retryable: site.method === 'PUT' });
  }
  if (status === 429) {
    return new BackendError({
      ...base,
      kind: 'rate-limited',
      retryable: true,
      retryAfterSeconds: parseRetryAfter(retryAfterHeader),
    });
  }
  if (status === 500) {
    if (INVALID_VERSION_500.test(body.message ?? '')) {
      return new BackendError({ ...base, kind: 'invalid', retryable: false });
    }
    return new BackendError({ ...base, kind: 'server', retryable: true, ambiguous: write });
  }
  if (status === 502 || status === 503 || status === 504) {
    return new BackendError({
      ...base,
      kind: 'unavailable',
      retryable: true,
      ambiguous: write,
      retryAfterSeconds: parseRetryAfter(retryAfterHeader),
    });
  }
  if (status >= 500) return new BackendError({ ...base, kind: 'server', retryable: true, ambiguous: write });
  if (status >= 300 && status < 400) {
    return new BackendError({
      ...base,
      kind: 'unexpected-response',
      retryable: false,
      detail: 'the server answered with a redirect, which is not followed (check the backend URL)',
    });
  }
  // 400, 405, 422 and the other 4xx: the server understood and refused; sending it again cannot help.
  return new BackendError({ ...base, kind: 'invalid', retryable: false });
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date); undefined when absent or unparseable. */
export function parseRetryAfter(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Codes meaning the connection was never established: the request cannot have been applied. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
]);
const TLS_CODES = /^(CERT_|ERR_TLS_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_)/;

/**
 * Maps a transport failure (no HTTP status) to a `BackendError`.
 * `timedOut` is true when our own deadline fired.
 */
export function classifyTransportError(
  site: CallSite,
  code: string | undefined,
  timedOut: boolean,
  timeoutMs: number,
  message: string,
  redact: (text: string) => string,
): BackendError {
  const base = { backend: site.backend, method: site.method, path: site.path, transportCode: code };
  const write = !isRead(site.method);
  if (timedOut || code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return new BackendError({
      ...base,
      kind: 'timeout',
      retryable: true,
      ambiguous: write,
      detail: `no answer within ${timeoutMs} ms`,
    });
  }
  if (code && TLS_CODES.test(code)) {
    // A certificate problem is configuration, not weather.
    return new BackendError({ ...base, kind: 'network', retryable: false, detail: redact(message) });
  }
  const sent = !(code && NOT_SENT_CODES.has(code));
  return new BackendError({
    ...base,
    kind: 'network',
    retryable: true,
    ambiguous: write && sent,
    detail: redact(message || code || 'connection failed'),
  });
}
