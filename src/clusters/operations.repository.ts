import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { UnitOfWork } from '../database/unit-of-work';
import type { OperationState, OperationType, StepState } from './operation.dto';

export type OperationPhase = 'forward' | 'compensating';

export interface StepRecord {
  position: number;
  name: string;
  nodePoolId: string | null;
  state: StepState;
  attempts: number;
  startedAt: Date | null;
  finishedAt: Date | null;
  lastError: string | null;
  lastErrorCode: string | null;
}

export interface OperationParams {
  /** Scale: the quantity asked for and the one to restore if the scale fails. */
  quantity?: number;
  previousQuantity?: number;
}

export interface OperationRecord {
  id: string;
  projectId: string;
  projectName: string;
  clusterId: string;
  clusterName: string;
  nodePoolId: string | null;
  nodePoolName: string | null;
  type: OperationType;
  state: OperationState;
  phase: OperationPhase;
  params: OperationParams;
  errorCode: string | null;
  errorMessage: string | null;
  deadlineAt: Date;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  steps: StepRecord[];
}

export interface NewOperation {
  id: string;
  projectId: string;
  clusterId: string;
  nodePoolId: string | null;
  type: OperationType;
  params: OperationParams;
  deadlineAt: Date;
  steps: Array<{ name: string; nodePoolId?: string | null }>;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- rows come untyped from pg; mapped right here */
const toStep = (r: any): StepRecord => ({
  position: r.position,
  name: r.name,
  nodePoolId: r.node_pool_id,
  state: r.state,
  attempts: r.attempts,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  lastError: r.last_error,
  lastErrorCode: r.last_error_code,
});

const toOperation = (r: any, steps: StepRecord[]): OperationRecord => ({
  id: r.id,
  projectId: r.project_id,
  projectName: r.project_name,
  clusterId: r.cluster_id,
  clusterName: r.cluster_name,
  nodePoolId: r.node_pool_id,
  nodePoolName: r.node_pool_name,
  type: r.type,
  state: r.state,
  phase: r.phase,
  params: r.params,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  deadlineAt: r.deadline_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  steps,
});
/* eslint-enable @typescript-eslint/no-explicit-any */

const SELECT_OPERATION = `
  SELECT o.*, p.name AS project_name, c.name AS cluster_name, np.name AS node_pool_name
  FROM operations o
  JOIN projects p ON p.id = o.project_id
  JOIN clusters c ON c.id = o.cluster_id
  LEFT JOIN node_pools np ON np.id = o.node_pool_id`;

@Injectable()
export class OperationsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Inserts a pending operation, its steps and its outbox row. Returns false when the cluster
   * already has an operation in flight (the partial unique index says so, whatever the replica).
   */
  async insert(op: NewOperation): Promise<boolean> {
    const m = this.uow.manager;
    try {
      await m.query(
        `INSERT INTO operations (id, project_id, cluster_id, node_pool_id, type, params, deadline_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [op.id, op.projectId, op.clusterId, op.nodePoolId, op.type, JSON.stringify(op.params), op.deadlineAt],
      );
    } catch (error) {
      if (isUniqueViolation(error, 'operations_one_in_flight_idx')) return false;
      throw error;
    }
    await m.query(
      `INSERT INTO operation_steps (operation_id, position, name, node_pool_id)
       SELECT $1, position, name, pool FROM unnest($2::int[], $3::text[], $4::uuid[]) AS s(position, name, pool)`,
      [
        op.id,
        op.steps.map((_, i) => i),
        op.steps.map((s) => s.name),
        op.steps.map((s) => s.nodePoolId ?? null),
      ],
    );
    await m.query(`INSERT INTO outbox (operation_id) VALUES ($1)`, [op.id]);
    return true;
  }

  async findById(id: string): Promise<OperationRecord | null> {
    const rows: unknown[] = await this.uow.manager.query(`${SELECT_OPERATION} WHERE o.id = $1`, [id]);
    if (rows.length === 0) return null;
    const steps: unknown[] = await this.uow.manager.query(
      `SELECT * FROM operation_steps WHERE operation_id = $1 ORDER BY position`,
      [id],
    );
    return toOperation(rows[0], steps.map(toStep));
  }

  /** Lightweight state read for long-polling. */
  /** Of `ids`, the operations that are over (any state but pending and running). */
  async finishedAmong(ids: string[]): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.uow.manager.query(
      `SELECT id FROM operations WHERE id = ANY($1::uuid[]) AND state NOT IN ('pending', 'running')`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  async stateOf(id: string): Promise<OperationState | null> {
    const rows: Array<{ state: OperationState }> = await this.uow.manager.query(
      `SELECT state FROM operations WHERE id = $1`,
      [id],
    );
    return rows[0]?.state ?? null;
  }

  /**
   * Takes the operation's lease so that exactly one runner works on it, whatever the queue does
   * (a job redelivered after a crash, or re-enqueued by the sweeper, finds the lease held).
   * Returns false when the operation is finished or leased by someone else.
   */
  async claim(id: string, owner: string, leaseMs: number): Promise<boolean> {
    // TypeORM answers an UPDATE with `[rows, rowCount]`, not the rows.
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE operations
       SET lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
           state = 'running', started_at = coalesce(started_at, now()), updated_at = now()
       WHERE id = $1 AND state IN ('pending', 'running')
         AND (lease_expires_at IS NULL OR lease_expires_at < now() OR lease_owner = $2)
       RETURNING id`,
      [id, owner, leaseMs],
    );
    return rows.length > 0;
  }

  async release(id: string, owner: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operations SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2`,
      [id, owner],
    );
  }

  async startStep(id: string, position: number): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operation_steps SET state = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())
       WHERE operation_id = $1 AND position = $2`,
      [id, position],
    );
    await this.touch(id);
  }

  async finishStep(id: string, position: number, state: 'succeeded' | 'failed'): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operation_steps SET state = $3, finished_at = now() WHERE operation_id = $1 AND position = $2`,
      [id, position, state],
    );
    await this.touch(id);
  }

  async recordStepError(id: string, position: number, code: string, message: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operation_steps SET last_error = $3, last_error_code = $4 WHERE operation_id = $1 AND position = $2`,
      [id, position, message, code],
    );
    await this.touch(id);
  }

  /** Switches to compensation: records why, and appends the undo steps after the existing ones. */
  async beginCompensation(id: string, code: string, message: string, steps: string[]): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operations SET phase = 'compensating', error_code = $2, error_message = $3, updated_at = now()
       WHERE id = $1 AND phase = 'forward'`,
      [id, code, message],
    );
    await this.uow.manager.query(
      `INSERT INTO operation_steps (operation_id, position, name)
       SELECT $1, (SELECT coalesce(max(position), -1) FROM operation_steps WHERE operation_id = $1) + ordinality, name
       FROM unnest($2::text[]) WITH ORDINALITY AS s(name, ordinality)`,
      [id, steps],
    );
  }

  /** Marks the operation final; returns false (changing nothing) when it already was. */
  async finish(
    id: string,
    state: 'succeeded' | 'failed',
    error?: { code: string; message: string },
  ): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE operations SET state = $2, finished_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
         error_code = coalesce($3, error_code), error_message = coalesce($4, error_message)
       WHERE id = $1 AND state IN ('pending', 'running') RETURNING id`,
      [id, state, error?.code ?? null, error?.message ?? null],
    );
    return rows.length > 0;
  }

  async unfinishedIds(): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.uow.manager.query(
      `SELECT id FROM operations WHERE state IN ('pending', 'running') ORDER BY created_at`,
    );
    return rows.map((r) => r.id);
  }

  /** Outbox rows not yet handed to the queue, oldest first. */
  async pendingOutbox(limit: number): Promise<Array<{ id: string; operationId: string }>> {
    const rows: Array<{ id: string; operation_id: string }> = await this.uow.manager.query(
      `SELECT id, operation_id FROM outbox WHERE dispatched_at IS NULL ORDER BY id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, operationId: r.operation_id }));
  }

  async markDispatched(ids: string[]): Promise<void> {
    await this.uow.manager.query(`UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::bigint[])`, [
      ids,
    ]);
  }

  private async touch(id: string): Promise<void> {
    await this.uow.manager.query(`UPDATE operations SET updated_at = now() WHERE id = $1`, [id]);
  }
}
