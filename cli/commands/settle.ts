import type { Operation } from '../api/client';
import type { CliContext } from '../context';
import { CliError, EXIT } from '../exit-codes';
import { follow, requireOutcome } from '../follow';
import { render, type Column } from '../output';
import { print, seconds } from './common';

const OPERATION_COLUMNS: Column<Operation>[] = [
  ['OPERATION', (o) => o.id],
  ['TYPE', (o) => o.type],
  ['STATE', (o) => o.state],
  ['ERROR', (o) => (o.error ? `${o.error.code}: ${o.error.message}` : null)],
];

export interface WaitOptions {
  project?: string;
  wait?: boolean;
  timeout?: string;
}

/** --wait and --timeout, read before the request that starts the operation. */
export interface Wait {
  wait: boolean;
  timeout: number | null;
}

/** Reads --timeout first, so that a bad value is refused before anything is asked of Paddock. */
export function waitOf(options: WaitOptions): Wait {
  return { wait: options.wait === true, timeout: seconds('--timeout', options.timeout) };
}

/** Prints the accepted operation, or with --wait follows it: exit 0 when it succeeded, 1 when not. */
export async function settle(ctx: CliContext, accepted: Operation, wait: Wait): Promise<void> {
  if (!wait.wait) {
    print(render(ctx.options.output, accepted, OPERATION_COLUMNS));
    return;
  }
  const final = await follow(ctx, accepted.id, wait.timeout);
  print(render(ctx.options.output, final, OPERATION_COLUMNS));
  requireOutcome(final);
}

/** How often a wait with no operation to long-poll (a rollout, a cluster's addons) reads again. */
const READ_EVERY_MS = 2_000;

/**
 * Reads `read` until `verdict` says done (its value is returned) or throws (a CliError: the wait
 * failed); a new `progress` line is told as it changes. Exit 3 once `deadline` (epoch ms) passes,
 * naming what was awaited and where it stood.
 */
export async function watch<T, R>(
  ctx: CliContext,
  what: string,
  deadline: number,
  read: () => Promise<T>,
  verdict: (value: T) => R | undefined,
  progress: (value: T) => string,
): Promise<R> {
  let told = '';
  for (;;) {
    const value = await read();
    const done = verdict(value);
    if (done !== undefined) return done;
    const line = progress(value);
    if (line !== told) ctx.note(line);
    told = line;
    if (Date.now() >= deadline)
      throw new CliError(EXIT.timeout, `TIMEOUT: still waiting for ${what}: ${line}; it goes on`);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(READ_EVERY_MS, Math.max(0, deadline - Date.now()))),
    );
  }
}

/** The deadline of a wait that starts now and may last `timeout` seconds (null: no end). */
export const deadlineOf = (timeout: number | null) =>
  timeout === null ? Infinity : Date.now() + timeout * 1000;
