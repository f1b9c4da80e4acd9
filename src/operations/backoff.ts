/**
 * Retry delays of a failed step. The attempt count lives in Postgres (a step may be retried by
 * another worker after a crash), so the delay is a pure function of it rather than the state of an
 * in-memory policy object (cockatiel's backoffs are iterators over one process's attempts).
 */
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 15_000;

/**
 * Exponential backoff with jitter: the ceiling doubles per attempt up to the cap; the delay is
 * half fixed, half random, so retries of many operations spread out instead of arriving together.
 */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The delay before the next attempt: the backoff, or longer if the backend asked for it. */
export const retryDelayMs = (attempt: number, retryAfterMs?: number, random?: () => number): number =>
  Math.max(retryAfterMs ?? 0, backoffMs(attempt, random));
