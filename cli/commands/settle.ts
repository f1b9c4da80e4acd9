import type { Operation } from '../api/client';
import type { CliContext } from '../context';
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
