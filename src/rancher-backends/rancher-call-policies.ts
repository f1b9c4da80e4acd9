/**
 * The resilience policies one `RancherClient` wraps its calls in (cockatiel): the defaults of every
 * option, the consecutive-failure circuit breaker and the retry policy with backoff and jitter.
 */

import {
  CircuitBreakerPolicy,
  ConsecutiveBreaker,
  DelegateBackoff,
  RetryPolicy,
  circuitBreaker,
  handleWhen,
  retry,
} from 'cockatiel';
import { BackendErrorKind, isBackendError } from './backend.errors';
import type { BackendLogger, RancherClientOptions } from './rancher-call.types';

export const DEFAULTS = {
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
export const BREAKER_KINDS: ReadonlySet<BackendErrorKind> = new Set([
  'network',
  'timeout',
  'server',
  'unavailable',
]);

export function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The backend's circuit breaker, or null when `options.circuitBreaker` is `false`. */
export function circuitBreakerFor(
  backend: string,
  options: RancherClientOptions,
  logger?: BackendLogger,
): CircuitBreakerPolicy | null {
  if (options.circuitBreaker === false) return null;
  const cb = options.circuitBreaker ?? {};
  // The inner function returns (rather than throws) errors that do not count, so only the
  // failures in BREAKER_KINDS reach the breaker and any answer from the server resets it.
  const breaker = circuitBreaker(
    handleWhen((e) => isBackendError(e) && BREAKER_KINDS.has(e.kind)),
    {
      halfOpenAfter: positive(cb.halfOpenAfterMs, DEFAULTS.halfOpenAfterMs),
      breaker: new ConsecutiveBreaker(positive(cb.consecutiveFailures, DEFAULTS.consecutiveFailures)),
    },
  );
  breaker.onBreak(() =>
    logger?.warn({ backend }, 'Rancher backend circuit opened: calls fail fast until it recovers'),
  );
  breaker.onReset(() => logger?.warn({ backend }, 'Rancher backend circuit closed again'));
  return breaker;
}

/** The retry policy for safe calls, or null when `options.retries` is 0. */
export function retryPolicyFor(
  backend: string,
  options: RancherClientOptions,
  logger?: BackendLogger,
): RetryPolicy | null {
  const retries = Math.max(0, Math.floor(options.retries ?? DEFAULTS.retries));
  if (retries === 0) return null;
  const baseDelay = positive(options.retryBaseDelayMs, DEFAULTS.retryBaseDelayMs);
  const maxDelay = positive(options.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs);
  const maxRetryAfter = positive(options.maxRetryAfterMs, DEFAULTS.maxRetryAfterMs);
  const policy = retry(
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
  policy.onRetry((event) => {
    const error = 'error' in event ? event.error : undefined;
    logger?.warn(
      {
        backend,
        attempt: event.attempt,
        delayMs: event.delay,
        ...(isBackendError(error)
          ? { method: error.method, path: error.path, errorKind: error.kind, status: error.status }
          : {}),
      },
      'retrying Rancher call',
    );
  });
  return policy;
}
