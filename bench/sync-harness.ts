/**
 * Runs `StatusSyncService.syncBackend` in the bench process, with nothing else of the worker
 * around it (no BullMQ processors, no sweeper, no scheduled cycles), so each measured cycle is
 * exactly one call. Database statements are counted by wrapping `pg.Client#query` for the async
 * context of that call only (AsyncLocalStorage): the count is what the service itself sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client } from 'pg';
import type { SyncReport } from '../src/clusters/status-sync.service';
import { loadConfig } from '../src/config/app-config';
import { startSyncOnly } from '../test/support/sync-only';
import { onCleanup, paddockEnv } from './support';

export interface StatementCount {
  statements: number;
  /** INSERT, UPDATE and DELETE statements. */
  writes: number;
  /** Rows those statements changed (pg's rowCount). */
  rowsWritten: number;
  byVerb: Record<string, number>;
}

const counting = new AsyncLocalStorage<StatementCount>();
let patched = false;

function patchPg(): void {
  if (patched) return;
  patched = true;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const proto = Client.prototype as any;
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const count = counting.getStore();
    if (!count) return original.apply(this, args);
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string })?.text ?? '');
    const verb = (/^\s*(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
    count.statements++;
    count.byVerb[verb] = (count.byVerb[verb] ?? 0) + 1;
    const isWrite = verb === 'INSERT' || verb === 'UPDATE' || verb === 'DELETE';
    if (isWrite) count.writes++;
    const record = (result: unknown) => {
      if (isWrite) count.rowsWritten += (result as { rowCount?: number } | undefined)?.rowCount ?? 0;
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        if (!err) record(result);
        return (last as (e: unknown, r: unknown) => unknown)(err, result);
      };
      return original.apply(this, args);
    }
    const out = original.apply(this, args);
    if (out && typeof (out as Promise<unknown>).then === 'function')
      return (out as Promise<unknown>).then((r) => (record(r), r));
    return out;
  };
}

export interface SyncHarness {
  /** `limit` of the Rancher client's list pages (PADDOCK_SYNC_PAGE_SIZE). */
  pageSize: number;
  cycle(backendId: string): Promise<{ report: SyncReport; wallMs: number; db: StatementCount }>;
  close(): Promise<void>;
}

export async function startSyncHarness(
  dbUrl: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<SyncHarness> {
  patchPg();
  const config = loadConfig(paddockEnv(dbUrl, prefix, { LOG_LEVEL: 'error', ...env }));
  // The tests' sync-only context: one list of the modules the sync needs, kept true by the tests.
  const { context, sync: service } = await startSyncOnly(config);
  const close = onCleanup('sync harness', () => context.close());
  return {
    pageSize: config.syncPageSize,
    async cycle(backendId) {
      const db: StatementCount = { statements: 0, writes: 0, rowsWritten: 0, byVerb: {} };
      const started = performance.now();
      const report = await counting.run(db, () => service.syncBackend(backendId));
      const wallMs = Math.round(performance.now() - started);
      if (!report) throw new Error('the sync could not list the backend');
      return { report, wallMs, db };
    },
    close,
  };
}
