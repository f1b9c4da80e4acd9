/**
 * Timers for controller steps, keyed so a step is scheduled at most once per object, and all
 * cancellable at once so `close()` leaves nothing running.
 */
export class Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly sleepers = new Map<NodeJS.Timeout, (completed: boolean) => void>();
  private closed = false;

  /** Schedules `run` unless a step with this key is already pending. */
  ensure(key: string, delayMs: number, run: () => void): void {
    if (this.closed || this.timers.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      run();
    }, delayMs);
    this.timers.set(key, timer);
  }

  /** A cancellable sleep, for fault delays. Resolves false if the simulator closed meanwhile. */
  sleep(delayMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.closed) return resolve(false);
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve(true);
      }, delayMs);
      this.sleepers.set(timer, resolve);
    });
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const [timer, resolve] of this.sleepers) {
      clearTimeout(timer);
      resolve(false);
    }
    this.sleepers.clear();
  }
}
