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

/** Prints the accepted operation, or with --wait follows it: exit 0 when it succeeded, 1 when not. */
export async function settle(ctx: CliContext, accepted: Operation, options: WaitOptions): Promise<void> {
  const timeout = seconds('--timeout', options.timeout);
  if (!options.wait) {
    print(render(ctx.options.output, accepted, OPERATION_COLUMNS));
    return;
  }
  const final = await follow(ctx, accepted.id, timeout);
  print(render(ctx.options.output, final, OPERATION_COLUMNS));
  requireOutcome(final);
}
