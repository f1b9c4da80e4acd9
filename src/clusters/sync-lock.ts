import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';

/** Extends the key's expiry only while it still holds this holder's token. */
const EXTEND_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/** Deletes the key only while it still holds this holder's token. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

type LockCommand = (key: string, token: string, ...args: Array<string | number>) => Promise<number>;

function commandOf(redis: Redis, name: string, lua: string): LockCommand {
  const commands = redis as unknown as Record<string, LockCommand | undefined>;
  if (!commands[name]) redis.defineCommand(name, { numberOfKeys: 1, lua });
  return (...args) => (commands[name] as LockCommand).apply(redis, args);
}

/**
 * Runs `work` while holding `key`, or returns false at once if someone else holds it. The TTL is
 * short, so a holder killed mid-run frees the key soon; a live holder renews it every third of
 * the TTL for as long as `work` runs, so a run that outlasts the TTL (a big backend, a loaded
 * machine) is never joined by a second one. Release and renewal touch the key only while it
 * holds this holder's token: a holder that lost its key cannot free or extend another's.
 */
export async function withRenewedLock(
  redis: Redis,
  key: string,
  ttlMs: number,
  work: () => Promise<unknown>,
): Promise<boolean> {
  const token = randomUUID();
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return false;
  const extend = commandOf(redis, 'paddockLockExtend', EXTEND_SCRIPT);
  const release = commandOf(redis, 'paddockLockRelease', RELEASE_SCRIPT);
  // A failed renewal (Redis briefly away) is not fatal: at worst another run starts, as before.
  const renewal = setInterval(() => void extend(key, token, ttlMs).catch(() => undefined), ttlMs / 3);
  try {
    await work();
    return true;
  } finally {
    clearInterval(renewal);
    await release(key, token);
  }
}
