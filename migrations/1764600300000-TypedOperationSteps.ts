import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Operation steps carry the key of the handler that runs them and the phase they belong to as
 * columns of their own, so the runner never parses a step's name. `name` stays: it is the label
 * the API shows (`create-node-pool:workers`, `compensate:delete-cluster`), fixed when the step is
 * written. Existing rows get their key and phase from their name; compensation steps of pool
 * operations now name their pool, as forward steps do.
 */
export class TypedOperationSteps1764600300000 implements MigrationInterface {
  name = 'TypedOperationSteps1764600300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE operation_steps
        ADD COLUMN step_key varchar(64),
        ADD COLUMN phase varchar(16) NOT NULL DEFAULT 'forward'`);
    // 'compensate:delete-node-pool' deleted the pool and waited until it was gone: that is
    // what the 'await-node-pool-deleted' handler does.
    await q.query(`
      UPDATE operation_steps SET
        phase = CASE WHEN name LIKE 'compensate:%' THEN 'compensating' ELSE 'forward' END,
        step_key = CASE
          WHEN name = 'compensate:delete-node-pool' THEN 'await-node-pool-deleted'
          WHEN name LIKE 'compensate:%' THEN substr(name, length('compensate:') + 1)
          ELSE split_part(name, ':', 1)
        END`);
    await q.query(`
      UPDATE operation_steps s SET node_pool_id = o.node_pool_id
      FROM operations o
      WHERE o.id = s.operation_id AND s.phase = 'compensating' AND s.node_pool_id IS NULL
        AND o.node_pool_id IS NOT NULL`);
    await q.query(`
      ALTER TABLE operation_steps
        ALTER COLUMN step_key SET NOT NULL,
        ALTER COLUMN phase DROP DEFAULT,
        ADD CONSTRAINT operation_steps_phase_check CHECK (phase IN ('forward', 'compensating'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE operation_steps
        DROP CONSTRAINT operation_steps_phase_check,
        DROP COLUMN phase,
        DROP COLUMN step_key`);
  }
}
