import { Injectable } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, EntityManager } from 'typeorm';

interface Ambient {
  manager: EntityManager;
  afterCommit: Array<() => void>;
}

/**
 * Transactions for repositories. `run` joins the transaction already open in this async context
 * or opens its own: the one caller that opens a transaction for others is the idempotency
 * interceptor, around a whole request, so that the stored answer commits with the state change
 * (it passes the transaction to its repository explicitly). `dryRun` works in either case. `afterCommit` callbacks run once the outermost
 * transaction has committed: that is where work is handed to other processes.
 */
@Injectable()
export class UnitOfWork {
  private readonly storage = new AsyncLocalStorage<Ambient>();

  constructor(readonly dataSource: DataSource) {}

  /** The manager to use right now: the ambient transaction's, or the pool's. */
  get manager(): EntityManager {
    return this.storage.getStore()?.manager ?? this.dataSource.manager;
  }

  async run<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const ambient = this.storage.getStore();
    if (ambient) return work(ambient.manager);
    const callbacks: Array<() => void> = [];
    const result = await this.dataSource.transaction((manager) =>
      this.storage.run({ manager, afterCommit: callbacks }, () => work(manager)),
    );
    for (const callback of callbacks) callback();
    return result;
  }

  /**
   * Runs `work` in a transaction that is always rolled back: the same checks and conditional
   * updates as the real thing, and no trace of them (after-commit callbacks are dropped too).
   * Inside the caller's transaction (a request with an `Idempotency-Key`) the dry run is a
   * savepoint rolled back at the end, so the caller's own writes (the stored answer) survive.
   */
  async dryRun<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const ambient = this.storage.getStore();
    if (ambient) {
      await ambient.manager.query('SAVEPOINT paddock_dry_run');
      try {
        return await this.storage.run({ manager: ambient.manager, afterCommit: [] }, () =>
          work(ambient.manager),
        );
      } finally {
        await ambient.manager.query('ROLLBACK TO SAVEPOINT paddock_dry_run');
      }
    }
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      return await this.storage.run({ manager: runner.manager, afterCommit: [] }, () => work(runner.manager));
    } finally {
      await runner.rollbackTransaction().catch(() => undefined);
      await runner.release();
    }
  }

  /** Runs `callback` after the current transaction commits (at once when there is none). */
  afterCommit(callback: () => void): void {
    const ambient = this.storage.getStore();
    if (ambient) ambient.afterCommit.push(callback);
    else callback();
  }
}
