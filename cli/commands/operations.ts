import { Command } from 'commander';
import type { Operation } from '../api/client';
import { follow, requireOutcome } from '../follow';
import { render, type Column } from '../output';
import { action, print, seconds } from './common';

const OPERATION_COLUMNS: Column<Operation>[] = [
  ['ID', (o) => o.id],
  ['TYPE', (o) => o.type],
  ['STATE', (o) => o.state],
  ['CLUSTER', (o) => `${o.project}/${o.cluster}`],
  ['STEP', (o) => o.steps.find((s) => s.state === 'running' || s.state === 'pending')?.name],
  ['ERROR', (o) => (o.error ? o.error.code : null)],
];

export function operationsCommand(): Command {
  const ops = new Command('ops').description('follow and cancel operations');
  ops
    .command('get')
    .description('an operation with its steps')
    .argument('<operation>', 'operation id')
    .action(
      action(async (ctx, id: string) => {
        const op = await ctx.call(
          ctx.client.GET('/v1/operations/{operation}', { params: { path: { operation: id } } }),
        );
        print(render(ctx.options.output, op, OPERATION_COLUMNS));
      }),
    );
  ops
    .command('wait')
    .description('wait for an operation to end: exit 0 when it succeeded, 1 when not, 3 on --timeout')
    .argument('<operation>', 'operation id')
    .option('--timeout <duration>', 'stop waiting after this long, exit 3')
    .action(
      action(async (ctx, id: string, options: { timeout?: string }) => {
        const op = await follow(ctx, id, seconds('--timeout', options.timeout));
        print(render(ctx.options.output, op, OPERATION_COLUMNS));
        requireOutcome(op);
      }),
    );
  ops
    .command('cancel')
    .description(
      'stop an operation at its next step: a create is undone, a scale keeps what the backend has; with --wait, exit 0 once it ended cancelled',
    )
    .argument('<operation>', 'operation id')
    .option('--wait', 'follow the operation until it has ended')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long, exit 3')
    .action(
      action(async (ctx, id: string, options: { wait?: boolean; timeout?: string }) => {
        const timeout = seconds('--timeout', options.timeout);
        const op = await ctx.call(
          ctx.client.POST('/v1/operations/{operation}/cancel', { params: { path: { operation: id } } }),
        );
        ctx.note(`cancel of operation ${id} accepted`);
        const final = options.wait ? await follow(ctx, id, timeout) : op;
        print(render(ctx.options.output, final, OPERATION_COLUMNS));
        if (options.wait) requireOutcome(final, 'cancelled');
      }),
    );
  return ops;
}
