/**
 * Errors that mean "Postgres cannot be reached right now" rather than "this request is wrong":
 * the server is down, restarting or out of connection slots, a connection was cut, or the pool
 * could not hand out a connection in time. The API answers these with 503 DATABASE_UNAVAILABLE
 * (the client may retry; nothing was committed), never with a 500.
 */

/** SQLSTATE classes/codes: 08 connection exception, 57P01-57P03 shutdown/starting up, 53300 too many connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** Socket-level failures while connecting to or talking to Postgres. */
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Messages node-postgres and its pool use for errors that carry no code. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|connect ECONNREFUSED/i;

/**
 * TypeORM releases a query runner whose connection emitted an error; the transaction's next query
 * (or its COMMIT, which is then never sent) fails with one of these. The unit of work never uses a
 * runner after its transaction ends, so here they mean the connection died mid-transaction.
 */
const RELEASED_RUNNER = new Set([
  'QueryRunnerProviderAlreadyReleasedError',
  'QueryRunnerAlreadyReleasedError',
]);

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  const e = error as {
    code?: unknown;
    message?: unknown;
    name?: unknown;
    driverError?: unknown;
    cause?: unknown;
  };
  if (RELEASED_RUNNER.has(String(e.name)) || RELEASED_RUNNER.has(error.constructor?.name)) return true;
  if (typeof e.code === 'string' && (UNAVAILABLE_SQLSTATE.test(e.code) || UNAVAILABLE_ERRNO.has(e.code)))
    return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  // TypeORM wraps the driver's error (QueryFailedError.driverError); Node wraps causes.
  return isDatabaseUnavailable(e.driverError, depth + 1) || isDatabaseUnavailable(e.cause, depth + 1);
}

/**
 * SQLSTATEs of a statement that waited its turn too long rather than failed: 57014 (cancelled by
 * `statement_timeout`, e.g. queued behind the locks on one project's quota row while a burst of
 * creates commits one by one), 55P03 (lock not available). The transaction is rolled back, so
 * nothing was written and the request can simply be sent again.
 */
const BUSY_SQLSTATE = new Set(['57014', '55P03']);

/** The database was reachable but too busy to finish the statement in time: a retryable 503. */
export function isDatabaseBusy(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 3) return false;
  const e = error as { code?: unknown; driverError?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && BUSY_SQLSTATE.has(e.code)) return true;
  return isDatabaseBusy(e.driverError, depth + 1) || isDatabaseBusy(e.cause, depth + 1);
}

/** A unique index or constraint refused an insert: the caller turns it into its own 409. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === constraint;
}
