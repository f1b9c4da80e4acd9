import type { Type } from '@nestjs/common';
import type { ClusterRecord, NodePoolRecord } from '../clusters/cluster.types';
import type { BackendDriver } from '../rancher-backends/backend-driver';
import { isObjectStoreError } from '../backups/object-store';
import { isBackendError } from '../rancher-backends/backend.errors';
import type { OperationRecord, StepRecord } from './operation.types';

/** What a step's `run` answers: done, or "look again in `pollMs`" (the job waits in the delayed set). */
export type StepResult = { done: true } | { done: false; pollMs: number };
export const DONE: StepResult = { done: true };
export const poll = (pollMs: number): StepResult => ({ done: false, pollMs });

/** Everything a step may act on, loaded fresh from Postgres before each run. */
export interface StepContext {
  operation: OperationRecord;
  step: StepRecord;
  cluster: ClusterRecord;
  /** The step's pool, or the operation's when the step names none. */
  pool: NodePoolRecord | null;
  /** The only way to reach the cluster's backend. */
  driver: BackendDriver;
}

/**
 * One step of an operation. `run` may be called any number of times for one step (a retry, a
 * crash, a redelivered job): it looks before it acts and persists what it got, so running it twice
 * does no harm.
 */
export interface OperationStep {
  run(context: StepContext): Promise<StepResult>;
}

/**
 * A step handler's class: a Nest provider whose static `key` is what `operation_steps.step_key`
 * stores. Keys are stable names: rows written by an older release run on a newer one.
 */
export interface StepHandlerClass<K extends string = string> extends Type<OperationStep> {
  readonly key: K;
}

/** A step failure in Paddock's words, with a stable code for the operation's error. */
export class StepError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** The step's pool; a step that needs one and has none cannot succeed. */
export function requirePool(context: StepContext): NodePoolRecord {
  if (!context.pool) {
    throw new StepError(
      'NODE_POOL_MISSING',
      `step ${context.step.label} names a pool that has no record`,
      false,
    );
  }
  return context.pool;
}

/** Maps driver errors to step errors; anything else (a database error, a bug) propagates. */
export function toStepError(error: unknown): StepError {
  if (error instanceof StepError) return error;
  if (isBackendError(error)) {
    const code =
      error.kind === 'invalid' || error.kind === 'forbidden' || error.kind === 'conflict'
        ? 'BACKEND_REJECTED'
        : error.kind === 'unauthorized'
          ? 'BACKEND_UNAUTHORIZED'
          : 'BACKEND_UNAVAILABLE';
    return new StepError(
      code,
      `${error.method} ${error.path}: ${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`,
      error.retryable,
      error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : undefined,
    );
  }
  if (isObjectStoreError(error)) {
    return new StepError(
      error.retryable ? 'BACKUP_STORAGE_UNAVAILABLE' : 'BACKUP_STORAGE_REFUSED',
      error.message,
      error.retryable,
    );
  }
  throw error;
}
