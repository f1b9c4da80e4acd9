import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit rows learn where a request came from and how many like it they stand for (a flood of
 * failed authentications is one row per address and minute, not one per request); and every
 * change of an operation's state is announced on the `paddock_operation_state` channel, so that
 * long-polls wait for a notification instead of each polling the table. Backends' `flavors` and
 * `labels` must be JSON objects (a stored `null` once made every create fail); rows that hold
 * anything else are reset to an empty object first.
 */
export class AuditOccurrencesOperationNotify1764600200000 implements MigrationInterface {
  name = 'AuditOccurrencesOperationNotify1764600200000';

  async up(q: QueryRunner): Promise<void> {
    for (const column of ['flavors', 'labels']) {
      await q.query(
        `UPDATE backends SET ${column} = '{}' WHERE jsonb_typeof(${column}) IS DISTINCT FROM 'object'`,
      );
      await q.query(
        `ALTER TABLE backends ADD CONSTRAINT backends_${column}_object_check CHECK (jsonb_typeof(${column}) = 'object')`,
      );
    }
    await q.query(`ALTER TABLE audit_events ADD COLUMN source varchar(64)`);
    await q.query(`ALTER TABLE audit_events ADD COLUMN occurrences integer NOT NULL DEFAULT 1`);
    // A trigger rather than a NOTIFY beside each UPDATE: no writer of the table can forget it,
    // and NOTIFY is delivered at commit, so a waiter never reads a state before it is visible.
    await q.query(`
      CREATE FUNCTION paddock_notify_operation_state() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('paddock_operation_state', NEW.id::text);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER operations_state_notify
      AFTER UPDATE OF state ON operations
      FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
      EXECUTE FUNCTION paddock_notify_operation_state()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER operations_state_notify ON operations`);
    await q.query(`DROP FUNCTION paddock_notify_operation_state()`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN occurrences`);
    await q.query(`ALTER TABLE audit_events DROP COLUMN source`);
    for (const column of ['flavors', 'labels'])
      await q.query(`ALTER TABLE backends DROP CONSTRAINT backends_${column}_object_check`);
  }
}
