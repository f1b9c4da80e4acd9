import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Client } from 'pg';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ProblemError } from '../common/problem';
import { OperationsRepository } from '../operations/operations.repository';
import type { OperationRecord } from '../operations/operation.types';

/** Channel the `operations_state_notify` trigger announces state changes on (payload: the id). */
const CHANNEL = 'paddock_operation_state';
/**
 * How often waited-on operations are re-read together, in one query, in case a notification was
 * lost (the listening connection dropped and came back). Costs nothing when nobody waits.
 */
const SAFETY_NET_MS = 5_000;
const RECONNECT_MS = [100, 500, 1_000, 2_000, 5_000];

/** One waiter's view of an operation: `next()` resolves on the next change seen since the last. */
export interface OperationWatch {
  next(timeoutMs: number): Promise<void>;
  close(): void;
}

interface Watcher {
  changed: boolean;
  wake: (() => void) | null;
}

/**
 * Long-poll support for the API process: one LISTEN connection per process, fanned out in
 * memory to every waiter of an operation, so that a thousand waiters cost no query while they
 * wait, and one shared read when the operation changes. Waiting slots are bounded per token
 * (429) and per process (503).
 */
@Injectable()
export class OperationWaiters implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(OperationWaiters.name);
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly slotsByCredential = new Map<string, number>();
  private slots = 0;
  private readonly reads = new Map<string, Promise<OperationRecord | null>>();
  private client: Client | null = null;
  private reconnects = 0;
  private closed = false;
  private safetyNet: NodeJS.Timeout | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly operations: OperationsRepository,
  ) {}

  onModuleInit(): void {
    void this.listen();
    this.safetyNet = setInterval(() => void this.recheck(), SAFETY_NET_MS);
    this.safetyNet.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.safetyNet) clearInterval(this.safetyNet);
    for (const id of [...this.watchers.keys()]) this.wake(id);
    await this.client?.end().catch(() => undefined);
  }

  /**
   * Takes one waiting slot for `credentialId`, or refuses: 429 past the per-token bound, 503
   * past the per-process one. Call the returned function once the wait is over.
   */
  acquire(credentialId: string): () => void {
    const { maxPerToken, maxPerProcess } = this.config.longPoll;
    const held = this.slotsByCredential.get(credentialId) ?? 0;
    if (held >= maxPerToken) {
      throw new ProblemError(
        HttpStatus.TOO_MANY_REQUESTS,
        'TOO_MANY_WAITS',
        `this token already has ${maxPerToken} long-polls waiting; wait for one to end or poll without waitSeconds`,
        { limit: maxPerToken, retryAfterSeconds: 1 },
      );
    }
    if (this.slots >= maxPerProcess) {
      throw new ProblemError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'TOO_MANY_WAITS',
        'this server has as many long-polls waiting as it takes; retry shortly',
        { retryAfterSeconds: 1 },
      );
    }
    this.slots += 1;
    this.slotsByCredential.set(credentialId, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.slots -= 1;
      const left = (this.slotsByCredential.get(credentialId) ?? 1) - 1;
      if (left <= 0) this.slotsByCredential.delete(credentialId);
      else this.slotsByCredential.set(credentialId, left);
    };
  }

  /** Starts watching `id`; take the watch before reading the operation, so no change is missed. */
  watch(id: string, signal?: AbortSignal): OperationWatch {
    const watcher: Watcher = { changed: false, wake: null };
    let set = this.watchers.get(id);
    if (!set) this.watchers.set(id, (set = new Set()));
    set.add(watcher);
    const onAbort = () => watcher.wake?.();
    signal?.addEventListener('abort', onAbort);
    return {
      next: (timeoutMs) =>
        new Promise<void>((resolve) => {
          if (watcher.changed || signal?.aborted || this.closed || timeoutMs <= 0) {
            watcher.changed = false;
            return resolve();
          }
          const timer = setTimeout(() => watcher.wake?.(), timeoutMs);
          watcher.wake = () => {
            clearTimeout(timer);
            watcher.wake = null;
            watcher.changed = false;
            resolve();
          };
        }),
      close: () => {
        signal?.removeEventListener('abort', onAbort);
        watcher.wake?.();
        set.delete(watcher);
        if (set.size === 0 && this.watchers.get(id) === set) this.watchers.delete(id);
      },
    };
  }

  /** The operation as it is now; waiters woken together share one read. */
  read(id: string): Promise<OperationRecord | null> {
    let pending = this.reads.get(id);
    if (!pending) {
      pending = this.operations.findById(id).finally(() => this.reads.delete(id));
      this.reads.set(id, pending);
    }
    return pending;
  }

  private wake(id: string): void {
    for (const watcher of this.watchers.get(id) ?? []) {
      watcher.changed = true;
      watcher.wake?.();
    }
  }

  private async listen(): Promise<void> {
    if (this.closed) return;
    const client = new Client({
      connectionString: this.config.databaseUrl,
      application_name: 'paddock-listen',
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === CHANNEL && message.payload) this.wake(message.payload);
    });
    client.on('error', (error) =>
      this.logger.warn({ err: error }, 'operation notifications lost; reconnecting'),
    );
    client.on('end', () => {
      if (this.client !== client) return;
      this.client = null;
      this.reconnect();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.reconnects = 0;
      // Anything may have changed while no one listened: let every waiter look once.
      for (const id of [...this.watchers.keys()]) this.wake(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot listen for operation notifications; retrying');
      if (this.client === client) this.client = null;
      await client.end().catch(() => undefined);
      this.reconnect();
    }
  }

  private reconnect(): void {
    if (this.closed) return;
    const delay = RECONNECT_MS[Math.min(this.reconnects, RECONNECT_MS.length - 1)];
    this.reconnects += 1;
    setTimeout(() => void this.listen(), delay).unref();
  }

  private async recheck(): Promise<void> {
    if (this.watchers.size === 0) return;
    try {
      for (const id of await this.operations.finishedAmong([...this.watchers.keys()])) this.wake(id);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not re-check waited-on operations');
    }
  }
}
