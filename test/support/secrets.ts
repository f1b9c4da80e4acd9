/** Where a secret could end up at rest: every Redis key of a run, every Postgres row. */
import type Redis from 'ioredis';
import type { TestPaddock } from './paddock';

/** Every key under `prefix` with its value, whatever the type (BullMQ job data included). */
export async function dumpRedis(
  redis: Redis,
  prefix: string,
): Promise<Array<{ key: string; type: string; value: string }>> {
  const out: Array<{ key: string; type: string; value: string }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      else value = null; // expired between SCAN and TYPE
      out.push({ key, type, value: JSON.stringify(value) });
    }
  } while (cursor !== '0');
  return out;
}

export async function dumpDatabase(paddock: TestPaddock): Promise<Array<{ table: string; row: string }>> {
  const { rows: tables } = await paddock.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const out: Array<{ table: string; row: string }> = [];
  for (const { table_name } of tables) {
    const { rows } = await paddock.db.query<{ j: string }>(
      `SELECT row_to_json(t)::text AS j FROM "${table_name}" t`,
    );
    for (const r of rows) out.push({ table: table_name, row: r.j });
  }
  return out;
}
