/**
 * Stops and starts the machine's Postgres for the reliability suite (`pg_ctlcluster`). The
 * cluster is the machine's only one by default (`<version> main`, the version being the one
 * directory under /etc/postgresql); `RELIABILITY_PG_CLUSTER="15 reltest"` names another, e.g. a
 * private cluster on another port (with `TEST_DATABASE_ROOT_URL` pointing at it) so that a
 * developer's run does not restart the Postgres everyone else on the machine is using.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const ROOT_DATABASE_URL = process.env.TEST_DATABASE_ROOT_URL ?? 'postgres://postgres@127.0.0.1:5432';

export function postgresCluster(): [string, string] {
  const named = process.env.RELIABILITY_PG_CLUSTER?.trim();
  if (named) {
    const [version, name] = named.split(/\s+/);
    return [version, name ?? 'main'];
  }
  const versions = readdirSync('/etc/postgresql').sort();
  return [versions[versions.length - 1], 'main'];
}

export async function pgctl(action: 'stop' | 'start' | 'restart'): Promise<number> {
  const started = Date.now();
  const [version, name] = postgresCluster();
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action], { timeout: 60_000 });
  return Date.now() - started;
}

/** True when a connection and `SELECT 1` succeed. */
export async function postgresAnswers(): Promise<boolean> {
  const client = new Client({
    connectionString: `${ROOT_DATABASE_URL}/postgres`,
    connectionTimeoutMillis: 1_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts Postgres if it does not answer, and waits until it does (use in a `finally`). */
export async function ensurePostgresUp(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (await postgresAnswers()) return;
  await pgctl('start').catch(() => undefined); // already starting, or started meanwhile
  while (!(await postgresAnswers())) {
    if (Date.now() > deadline) throw new Error('Postgres did not come back');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
