import { Injectable } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { DataSource, EntityManager } from 'typeorm';

interface Ambient {
  manager: EntityManager;
  afterCommit: Array<() => void>;
}

/**
 * Transactions for repositories. `run` joins the transaction already open in this async context
 * (the idempotency interceptor opens one around a whole request, so the stored answer commits
 * with the state change) or opens its own. `afterCommit` callbacks run once the outermost
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
   * Runs `work` in a transaction that is always rolled back (a savepoint of the open one, if any):
   * the same checks and conditional updates as the real thing, and no trace of them (after-commit
   * callbacks are dropped too).
   */
  async dryRun<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const ambient = this.storage.getStore();
    if (ambient) {
      // Inside a caller's transaction (the idempotency interceptor's, for one): a savepoint undoes
      // the work, a failed statement included, and leaves the caller's transaction as it was.
      await ambient.manager.query('SAVEPOINT dry_run');
      try {
        return await this.storage.run({ manager: ambient.manager, afterCommit: [] }, () =>
          work(ambient.manager),
        );
      } finally {
        await ambient.manager.query('ROLLBACK TO SAVEPOINT dry_run');
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
