/**
 * A token-bucket call-rate limiter (cockatiel has bulkheads but no rate limiting).
 *
 * `acquire()` resolves when the caller may send one call. Waiters are served in arrival order: a
 * caller that finds the bucket empty reserves the next token (the balance goes negative) and sleeps
 * exactly until that token has been refilled, so N calls at rate R with burst B take at least
 * (N - B) / R seconds and no timer polling is needed.
 */
/** Time as the bucket sees it; tests pass a manual clock to check the waits exactly. */
export interface BucketClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL_CLOCK: BucketClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param ratePerSecond sustained calls per second; `<= 0` or `Infinity` disables the limit
   * @param burst calls allowed at once after an idle period (at least 1)
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly clock: BucketClock = REAL_CLOCK,
  ) {
    this.tokens = Math.max(1, burst);
    this.last = clock.now();
  }

  get unlimited(): boolean {
    return !(this.ratePerSecond > 0) || !Number.isFinite(this.ratePerSecond);
  }

  acquire(): Promise<void> {
    if (this.unlimited) return Promise.resolve();
    const now = this.clock.now();
    this.tokens = Math.min(
      Math.max(1, this.burst),
      this.tokens + ((now - this.last) / 1000) * this.ratePerSecond,
    );
    this.last = now;
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve();
    const waitMs = Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
    return this.clock.sleep(waitMs);
  }
}
