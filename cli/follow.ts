import type { Operation } from './api/client';
import type { CliContext } from './context';
import { CliError, EXIT } from './exit-codes';

const isOver = (op: Operation) => op.state !== 'pending' && op.state !== 'running';

/**
 * How long one long-poll may last. Paddock answers a long-poll as soon as the operation's state
 * changes, but not when a step ends; a shorter wait on a terminal shows steps as they finish,
 * a longer one elsewhere keeps a CI log short. Neither is busy polling.
 */
const POLL_SECONDS = { interactive: 2, plain: 10 };

const seconds = (from: string | null, to: string | null) =>
  from && to ? `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(1)} s` : '';

/**
 * Follows an operation to its end with the API's long-poll (`waitSeconds`), telling the steps as
 * they finish; throws exit code 3 when `timeoutSeconds` passes first (the operation goes on).
 */
export async function follow(
  ctx: CliContext,
  operationId: string,
  timeoutSeconds: number | null,
): Promise<Operation> {
  const deadline = timeoutSeconds === null ? Infinity : Date.now() + timeoutSeconds * 1000;
  const told = new Set<string>();
  let running: string | null = null;
  for (;;) {
    const remainingMs = deadline - Date.now();
    const longest = ctx.interactive ? POLL_SECONDS.interactive : POLL_SECONDS.plain;
    const waitSeconds = Math.max(0, Math.min(longest, Math.ceil(remainingMs / 1000)));
    const op = await ctx.call(
      ctx.client.GET('/v1/operations/{operation}', {
        params: { path: { operation: operationId }, query: { waitSeconds } },
      }),
    );
    for (const step of op.steps) {
      if (step.finishedAt && !told.has(step.name)) {
        told.add(step.name);
        const mark = ctx.interactive ? (step.state === 'succeeded' ? '  ✓' : '  ✗') : 'step';
        ctx.note(`${mark} ${step.name} ${step.state} ${seconds(step.startedAt, step.finishedAt)}`.trimEnd());
      } else if (ctx.interactive && step.state === 'running' && running !== step.name) {
        running = step.name;
        ctx.note(`  … ${step.name}`);
      }
    }
    if (isOver(op)) return op;
    if (Date.now() >= deadline) {
      throw new CliError(
        EXIT.timeout,
        `TIMEOUT: operation ${op.id} is still ${op.state} after ${timeoutSeconds} s; it goes on (follow it with \`paddock ops wait ${op.id}\`)`,
      );
    }
  }
}

/** Exit 0 when the operation ended as wanted, else exit 1 with its error code and message. */
export function requireOutcome(op: Operation, wanted: Operation['state'] = 'succeeded'): void {
  if (op.state === wanted) return;
  const error = op.error ? `${op.error.code}: ${op.error.message}` : `ended ${op.state}`;
  throw new CliError(EXIT.failed, `operation ${op.id} (${op.type}) ${op.state}: ${error}`);
}
