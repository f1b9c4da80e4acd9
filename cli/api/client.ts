/**
 * Paddock's typed HTTP client: openapi-fetch over the types that openapi-typescript generates
 * from the committed `openapi.json` (`npm run client` writes `schema.d.ts`; a test fails when it
 * is out of date). The CLI and the tests use it; nothing here is hand-written per route.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { randomUUID } from 'node:crypto';
import type { components, paths } from './schema';

export type { components, paths };
export type PaddockClient = Client<paths>;
export type Schemas = components['schemas'];
export type Operation = Schemas['OperationDto'];
export type Cluster = Schemas['ClusterDto'];
export type Problem = Schemas['ProblemDto'];

export interface PaddockClientOptions {
  /** Paddock's base URL, e.g. `https://paddock.internal`. */
  url: string;
  token: string;
  /**
   * The `Idempotency-Key` of the next mutating request, or a function giving one per request
   * (default: a fresh UUID per request); `false` sends none unless a request sets its own.
   * Retries of one request always reuse its key.
   */
  idempotencyKey?: string | (() => string) | false;
  /** Attempts per request when the network fails (connection refused, reset, cut answer); default 1. */
  attempts?: number;
  /** How long one request may take before it counts as a network failure; default 30 s. */
  requestTimeoutMs?: number;
  /** Called before a retry, e.g. to tell the user. */
  onRetry?: (info: { method: string; url: string; attempt: number; error: Error }) => void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Longer than any long-poll the API allows (`waitSeconds` ≤ 60), so a wait is never cut short. */
const LONG_POLL_ALLOWANCE_MS = 65_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * fetch, retried after a network failure with the very same request (so the same
 * `Idempotency-Key`): a create whose answer was lost is replayed by Paddock, not made twice.
 * HTTP answers, errors included, are never retried here.
 */
function retryingFetch(options: PaddockClientOptions): (request: Request) => Promise<Response> {
  const attempts = Math.max(1, options.attempts ?? 1);
  return async (request) => {
    const waits = new URL(request.url).searchParams.has('waitSeconds');
    const timeoutMs = (options.requestTimeoutMs ?? 30_000) + (waits ? LONG_POLL_ALLOWANCE_MS : 0);
    for (let attempt = 1; ; attempt++) {
      try {
        return await fetch(request.clone(), { signal: AbortSignal.timeout(timeoutMs) });
      } catch (error) {
        if (attempt >= attempts) throw error;
        options.onRetry?.({ method: request.method, url: request.url, attempt, error: error as Error });
        await sleep(Math.min(8_000, 250 * 2 ** attempt));
      }
    }
  };
}

export function createPaddockClient(options: PaddockClientOptions): PaddockClient {
  const client = createClient<paths>({
    baseUrl: options.url.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.token}` },
    fetch: retryingFetch(options),
  });
  const key = options.idempotencyKey;
  if (key === false) return client;
  const idempotency: Middleware = {
    onRequest({ request }) {
      if (!MUTATING.has(request.method) || request.headers.has('idempotency-key')) return undefined;
      request.headers.set('idempotency-key', typeof key === 'string' ? key : (key?.() ?? randomUUID()));
      return request;
    },
  };
  client.use(idempotency);
  return client;
}
