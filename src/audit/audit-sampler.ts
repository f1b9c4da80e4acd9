import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { AuditRepository, NewAuditEvent } from './audit.repository';

/** Rows written one by one per address, status and minute before the rest are only counted. */
export const SAMPLED_PER_MINUTE = 5;
const WINDOW_MS = 60_000;
/** Distinct addresses tracked per minute; past it, the rest share one bucket without an address. */
const MAX_KEYS = 10_000;

interface Bucket {
  window: number;
  written: number;
  suppressed: number;
  last: NewAuditEvent | null;
}

/**
 * Bounds what failed authentications (401, and the per-address 429) can add to the audit log. Per source address
 * and status, the first {@link SAMPLED_PER_MINUTE} in a minute get a row each; the others are
 * counted and, once the minute is over, written as one row whose `occurrences` says how many it
 * stands for. A flood from one address thus costs at most six rows a minute per API process.
 * Authenticated requests are never sampled: every one has its own row.
 */
@Injectable()
export class AuditSampler implements OnModuleDestroy {
  private readonly logger = new Logger('Audit');
  private readonly buckets = new Map<string, Bucket>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly events: AuditRepository) {
    this.timer = setInterval(() => void this.flush(false), WINDOW_MS / 6);
    this.timer.unref();
  }

  record(event: NewAuditEvent): void {
    const window = Math.floor(Date.now() / WINDOW_MS);
    let key = `${event.source ?? ''}|${event.status}`;
    if (!this.buckets.has(key) && this.buckets.size >= MAX_KEYS) {
      key = `*|${event.status}`;
      event = { ...event, source: null };
    }
    let bucket = this.buckets.get(key);
    if (bucket && bucket.window !== window) {
      this.writeSummary(bucket);
      bucket = undefined;
    }
    if (!bucket) {
      bucket = { window, written: 0, suppressed: 0, last: null };
      this.buckets.set(key, bucket);
    }
    if (bucket.written < SAMPLED_PER_MINUTE) {
      bucket.written += 1;
      this.write(event);
    } else {
      bucket.suppressed += 1;
      bucket.last = event;
    }
  }

  /** Writes the summaries of minutes that are over (all of them when `everything`). */
  flush(everything: boolean): void {
    const window = Math.floor(Date.now() / WINDOW_MS);
    for (const [key, bucket] of this.buckets) {
      if (!everything && bucket.window === window) continue;
      this.writeSummary(bucket);
      this.buckets.delete(key);
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.flush(true);
  }

  private writeSummary(bucket: Bucket): void {
    if (bucket.suppressed === 0 || !bucket.last) return;
    this.write({ ...bucket.last, requestId: null, occurrences: bucket.suppressed });
    bucket.suppressed = 0;
  }

  /** Writes one row now, unsampled (requests with a valid credential). */
  write(event: NewAuditEvent): void {
    this.events
      .insert(event)
      .catch((error: unknown) =>
        this.logger.error(
          { err: error, method: event.method, path: event.target },
          'could not record an audit event',
        ),
      );
  }
}
