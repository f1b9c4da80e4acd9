import type { NewStep, OperationPhase } from './operation.types';
import type { StepHandlerClass } from './operation-step';

/** A step that runs once per pool the operation is about (one `create-node-pool` per pool). */
export interface PerPool {
  perPool: StepHandlerClass;
}
export const perPool = (handler: StepHandlerClass): PerPool => ({ perPool: handler });

export type StepEntry = StepHandlerClass | PerPool;

/**
 * An operation type, declared: its steps in order, and the steps that undo it after a permanent
 * failure (or its deadline). Adding a step to an operation is its handler's file plus one entry here.
 */
export interface OperationDeclaration {
  forward: readonly StepEntry[];
  /** Run in order after a forward step failed for good; each sees the operation's pool, if any. */
  compensation: readonly StepHandlerClass[];
  /**
   * Whether the operation is bound by its deadline. Deletes are not: they have nothing to undo, so
   * they retry transient errors until done.
   */
  deadline: boolean;
  /**
   * What a cancel does, at the next step boundary: `compensate` runs the undo steps and ends the
   * operation `cancelled`; `stop` runs nothing more and keeps what the backend already has (see
   * OperationOutcomes.stop). Absent: the operation cannot be cancelled (409 NOT_CANCELLABLE).
   */
  cancel?: 'compensate' | 'stop';
}

export interface PoolRef {
  id: string;
  name: string;
}

const labelOf = (key: string, phase: OperationPhase, pool: PoolRef | null) =>
  phase === 'compensating' ? `compensate:${key}` : pool ? `${key}:${pool.name}` : key;

/** The forward steps to write for an operation about `pools` (the new cluster's, or the one pool changed). */
export function forwardSteps(declaration: OperationDeclaration, pools: readonly PoolRef[]): NewStep[] {
  return declaration.forward.flatMap((entry): NewStep[] =>
    'perPool' in entry
      ? pools.map((pool) => ({
          key: entry.perPool.key,
          label: labelOf(entry.perPool.key, 'forward', pool),
          nodePoolId: pool.id,
        }))
      : [{ key: entry.key, label: labelOf(entry.key, 'forward', null), nodePoolId: null }],
  );
}

/** The undo steps to append when the operation (about `nodePoolId`, if any) turns to compensation. */
export function compensationSteps(declaration: OperationDeclaration, nodePoolId: string | null): NewStep[] {
  return declaration.compensation.map((handler) => ({
    key: handler.key,
    label: labelOf(handler.key, 'compensating', null),
    nodePoolId,
  }));
}

/** Every handler the declarations name, once each. */
export function handlersOf(declarations: Record<string, OperationDeclaration>): StepHandlerClass[] {
  const all = Object.values(declarations).flatMap((d) => [
    ...d.forward.map((entry) => ('perPool' in entry ? entry.perPool : entry)),
    ...d.compensation,
  ]);
  return [...new Set(all)];
}
