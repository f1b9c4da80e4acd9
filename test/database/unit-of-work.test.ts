/**
 * UnitOfWork against real Postgres: what joins what, when after-commit work runs, and what a dry
 * run leaves behind. Each case reads the outcome through a second connection, outside any
 * transaction, so it sees only what was committed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';
import { UnitOfWork } from '../../src/database/unit-of-work';

const ROOT_DATABASE_URL = process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';

describe('UnitOfWork on Postgres', () => {
  const database = `paddock_t_uow_${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let observer: Client;
  let dataSource: DataSource;
  let uow: UnitOfWork;

  before(async () => {
    admin = new Client({ connectionString: `${ROOT_DATABASE_URL}/postgres` });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    dataSource = createDataSource(`${ROOT_DATABASE_URL}/${database}`, 4);
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE marks (name text PRIMARY KEY)');
    uow = new UnitOfWork(dataSource);
    observer = new Client({ connectionString: `${ROOT_DATABASE_URL}/${database}` });
    await observer.connect();
  });

  after(async () => {
    await observer?.end();
    await dataSource?.destroy();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  });

  async function committed(): Promise<string[]> {
    const { rows } = await observer.query('SELECT name FROM marks ORDER BY name');
    return rows.map((r) => r.name);
  }

  async function mark(name: string): Promise<void> {
    await uow.manager.query('INSERT INTO marks (name) VALUES ($1)', [name]);
  }

  it('a run inside a run joins it: a failure in the outer one undoes the inner one', async () => {
    await dataSource.query('TRUNCATE marks');
    await assert.rejects(
      uow.run(async () => {
        await uow.run(() => mark('inner'));
        assert.deepEqual(await committed(), [], 'the inner run did not commit on its own');
        await mark('outer');
        throw new Error('outer fails');
      }),
      /outer fails/,
    );
    assert.deepEqual(await committed(), []);
  });

  it('after-commit work registered in a nested run waits for the outermost commit', async () => {
    await dataSource.query('TRUNCATE marks');
    const seenByCallback: string[][] = [];
    const pending: Promise<void>[] = [];
    await uow.run(async () => {
      await uow.run(async () => {
        await mark('a');
        uow.afterCommit(() => pending.push(committed().then((rows) => void seenByCallback.push(rows))));
      });
      assert.equal(pending.length, 0, 'not run while the outer transaction is open');
      await mark('b');
    });
    await Promise.all(pending);
    assert.deepEqual(seenByCallback, [['a', 'b']]);
  });

  it('after-commit work is dropped when the transaction rolls back, and runs at once outside one', async () => {
    await dataSource.query('TRUNCATE marks');
    let ran = 0;
    await assert.rejects(
      uow.run(async () => {
        uow.afterCommit(() => ran++);
        throw new Error('rolled back');
      }),
    );
    assert.equal(ran, 0);
    uow.afterCommit(() => ran++);
    assert.equal(ran, 1);
  });

  it('a dry run leaves nothing, alone or inside a run whose own writes survive', async () => {
    await dataSource.query('TRUNCATE marks');
    let afterDryRun = 0;
    const alone = await uow.dryRun(async () => {
      await mark('dry-alone');
      uow.afterCommit(() => afterDryRun++);
      return (await uow.manager.query('SELECT count(*)::int AS n FROM marks'))[0].n;
    });
    assert.equal(alone, 1, 'the dry run sees its own write');
    await uow.run(async () => {
      await mark('kept-before');
      await uow.dryRun(() => mark('dry-inside'));
      await mark('kept-after');
    });
    assert.deepEqual(await committed(), ['kept-after', 'kept-before']);
    assert.equal(afterDryRun, 0, "a dry run's after-commit work never runs");
  });
});
