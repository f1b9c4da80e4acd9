import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { UnitOfWork } from '../database/unit-of-work';
import type { BackendKind } from '../rancher-backends/backend-driver';
import type {
  NewOperation,
  NewStep,
  OperationParams,
  OperationPhase,
  OperationRecord,
  OperationState,
  OperationType,
  StepRecord,
  StepState,
} from './operation.types';

/** An `operations` row with the names of its project, cluster and pool. */
interface OperationRow {
  id: string;
  project_id: string;
  project_name: string;
  cluster_id: string;
  cluster_name: string;
  node_pool_id: string | null;
  node_pool_name: string | null;
  type: OperationType;
  state: OperationState;
  phase: OperationPhase;
  params: OperationParams;
  error_code: string | null;
  error_message: string | null;
  cancel_requested_at: Date | null;
  cancel_requested_by: string | null;
  deadline_at: Date;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** An `operation_steps` row. */
interface StepRow {
  position: number;
  step_key: string;
  phase: OperationPhase;
  name: string;
  node_pool_id: string | null;
  state: StepState;
  attempts: number;
  started_at: Date | null;
  finished_at: Date | null;
  last_error: string | null;
  last_error_code: string | null;
}

const toStep = (r: StepRow): StepRecord => ({
  position: r.position,
  key: r.step_key,
  phase: r.phase,
  label: r.name,
  nodePoolId: r.node_pool_id,
  state: r.state,
  attempts: r.attempts,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  lastError: r.last_error,
  lastErrorCode: r.last_error_code,
});

const toOperation = (r: OperationRow, steps: StepRecord[]): OperationRecord => ({
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
  cancelRequestedAt: r.cancel_requested_at,
  cancelRequestedBy: r.cancel_requested_by,
  deadlineAt: r.deadline_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  steps,
});

const SELECT_OPERATION = `
  SELECT o.id, o.project_id, o.cluster_id, o.node_pool_id, o.type, o.state, o.phase, o.params,
    o.error_code, o.error_message, o.cancel_requested_at, o.cancel_requested_by, o.deadline_at, o.created_at, o.updated_at, o.started_at, o.finished_at,
    p.name AS project_name, c.name AS cluster_name, np.name AS node_pool_name
  FROM operations o
  JOIN projects p ON p.id = o.project_id
  JOIN clusters c ON c.id = o.cluster_id
  LEFT JOIN node_pools np ON np.id = o.node_pool_id`;

/** The steps' columns as parallel arrays, for `unnest`. */
const stepColumns = (steps: NewStep[]) => [
  steps.map((s) => s.key),
  steps.map((s) => s.label),
  steps.map((s) => s.nodePoolId),
];

@Injectable()
export class OperationsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** The kind of the backend a cluster is placed on: it decides an operation's steps. */
  async backendKindOf(clusterId: string): Promise<BackendKind> {
    const rows: Array<{ kind: BackendKind }> = await this.uow.manager.query(
      `SELECT b.kind FROM clusters c JOIN backends b ON b.id = c.backend_id WHERE c.id = $1`,
      [clusterId],
    );
    if (!rows[0]) throw new Error(`cluster ${clusterId} has no backend`);
    return rows[0].kind;
  }

  /**
   * Inserts a pending operation with its forward steps, in one statement. Returns false when the
   * cluster already has an operation in flight (the partial unique index says so, whatever the
   * replica).
   */
  async insert(op: NewOperation): Promise<boolean> {
    try {
      await this.uow.manager.query(
        `WITH operation AS (
           INSERT INTO operations (id, project_id, cluster_id, node_pool_id, type, params, deadline_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id)
         INSERT INTO operation_steps (operation_id, position, step_key, phase, name, node_pool_id)
         SELECT operation.id, s.position - 1, s.step_key, 'forward', s.name, s.pool
         FROM operation, unnest($8::text[], $9::text[], $10::uuid[]) WITH ORDINALITY AS s(step_key, name, pool, position)`,
        [
          op.id,
          op.projectId,
          op.clusterId,
          op.nodePoolId,
          op.type,
          JSON.stringify(op.params),
          op.deadlineAt,
          ...stepColumns(op.steps),
        ],
      );
      return true;
    } catch (error) {
      if (isUniqueViolation(error, 'operations_one_in_flight_idx')) return false;
      throw error;
    }
  }

  async findById(id: string): Promise<OperationRecord | null> {
    const rows: OperationRow[] = await this.uow.manager.query(`${SELECT_OPERATION} WHERE o.id = $1`, [id]);
    if (rows.length === 0) return null;
    const steps: StepRow[] = await this.uow.manager.query(
      `SELECT position, step_key, phase, name, node_pool_id, state, attempts, started_at, finished_at,
         last_error, last_error_code
       FROM operation_steps WHERE operation_id = $1 ORDER BY position`,
      [id],
    );
    return toOperation(rows[0], steps.map(toStep));
  }

  /** Of `ids`, the operations that are over (any state but pending and running). */
  async finishedAmong(ids: string[]): Promise<string[]> {
    const rows: Array<Pick<OperationRow, 'id'>> = await this.uow.manager.query(
      `SELECT id FROM operations WHERE id = ANY($1::uuid[]) AND state NOT IN ('pending', 'running')`,
      [ids],
    );
    return rows.map((r) => r.id);
  }

  /** Lightweight state read for long-polling. */
  async stateOf(id: string): Promise<OperationState | null> {
    const rows: Array<Pick<OperationRow, 'state'>> = await this.uow.manager.query(
      `SELECT state FROM operations WHERE id = $1`,
      [id],
    );
    return rows[0]?.state ?? null;
  }

  /**
   * Takes (or renews) the operation's lease so that exactly one runner works on it, whatever the
   * queue does (a job redelivered after a crash, or re-enqueued by the sweeper, finds the lease
   * held). Returns false when the operation is finished or leased by someone else.
   */
  async acquireLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
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

  async releaseLease(id: string, owner: string): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operations SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1 AND lease_owner = $2`,
      [id, owner],
    );
  }

  /** Adds what a step learnt (a backup's id) to the operation's params, for the steps after it. */
  async mergeParams(id: string, params: OperationParams): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operations SET params = params || $2::jsonb, updated_at = now() WHERE id = $1`,
      [id, JSON.stringify(params)],
    );
  }

  async startStep(id: string, position: number): Promise<void> {
    await this.updateStep(
      id,
      position,
      `state = 'running', attempts = attempts + 1, started_at = coalesce(started_at, now())`,
    );
  }

  async finishStep(id: string, position: number, state: 'succeeded' | 'failed'): Promise<void> {
    await this.updateStep(id, position, `state = $3, finished_at = now()`, [state]);
  }

  async recordStepError(id: string, position: number, code: string, message: string): Promise<void> {
    await this.updateStep(id, position, `last_error = $3, last_error_code = $4`, [message, code]);
  }

  /** Switches to compensation: records why, and appends the undo steps after the existing ones. */
  async beginCompensation(id: string, code: string, message: string, steps: NewStep[]): Promise<void> {
    await this.uow.manager.query(
      `UPDATE operations SET phase = 'compensating', error_code = $2, error_message = $3, updated_at = now()
       WHERE id = $1 AND phase = 'forward'`,
      [id, code, message],
    );
    await this.uow.manager.query(
      `INSERT INTO operation_steps (operation_id, position, step_key, phase, name, node_pool_id)
       SELECT $1, (SELECT coalesce(max(position), -1) FROM operation_steps WHERE operation_id = $1) + s.position,
         s.step_key, 'compensating', s.name, s.pool
       FROM unnest($2::text[], $3::text[], $4::uuid[]) WITH ORDINALITY AS s(step_key, name, pool, position)`,
      [id, ...stepColumns(steps)],
    );
  }

  /**
   * Marks the operation final; returns false (changing nothing) when it already was, or when it
   * would succeed but a cancel was accepted meanwhile: an accepted cancel always wins, so the
   * runner goes on to act on it.
   */
  async finish(
    id: string,
    state: 'succeeded' | 'failed' | 'cancelled',
    error?: { code: string; message: string },
  ): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE operations SET state = $2::text, finished_at = now(), updated_at = now(), lease_owner = NULL, lease_expires_at = NULL,
         error_code = coalesce($3, error_code), error_message = coalesce($4, error_message)
       WHERE id = $1 AND state IN ('pending', 'running')
         AND ($2::text <> 'succeeded' OR cancel_requested_at IS NULL) RETURNING id`,
      [id, state, error?.code ?? null, error?.message ?? null],
    );
    return rows.length > 0;
  }

  /**
   * Records a cancel request when the operation is still going forward; returns false otherwise
   * (it is over, or already undoing a failure). Asking twice keeps the first request.
   */
  async requestCancel(id: string, by: string): Promise<boolean> {
    const [rows]: [unknown[], number] = await this.uow.manager.query(
      `UPDATE operations SET cancel_requested_at = coalesce(cancel_requested_at, now()),
         cancel_requested_by = coalesce(cancel_requested_by, $2), updated_at = now()
       WHERE id = $1 AND state IN ('pending', 'running')
         AND (phase = 'forward' OR cancel_requested_at IS NOT NULL) RETURNING id`,
      [id, by],
    );
    return rows.length > 0;
  }

  async unfinishedIds(): Promise<string[]> {
    const rows: Array<Pick<OperationRow, 'id'>> = await this.uow.manager.query(
      `SELECT id FROM operations WHERE state IN ('pending', 'running') ORDER BY created_at`,
    );
    return rows.map((r) => r.id);
  }

  /** One step's columns, and the operation's `updated_at` (what the API shows as progress), in one statement. */
  private async updateStep(id: string, position: number, set: string, params: unknown[] = []): Promise<void> {
    await this.uow.manager.query(
      `WITH step AS (UPDATE operation_steps SET ${set} WHERE operation_id = $1 AND position = $2 RETURNING 1)
       UPDATE operations SET updated_at = now() WHERE id = $1`,
      [id, position, ...params],
    );
  }
}
