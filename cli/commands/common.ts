import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse } from 'yaml';
import { CliContext, type GlobalOptions } from '../context';
import { parseDuration } from '../duration';
import { CliError, EXIT } from '../exit-codes';

/** A command's action, given its context (built from the global options and the environment) first. */
export function action<A extends unknown[]>(
  run: (ctx: CliContext, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    const ctx = new CliContext(command.optsWithGlobals<GlobalOptions>(), process.env, process.stderr);
    await run(ctx, ...(args.slice(0, -1) as A));
  };
}

/** Seconds in a duration flag; exit 2 naming the flag when it is not one. */
export function seconds(flag: string, value: string | undefined): number | null {
  if (value === undefined) return null;
  const parsed = parseDuration(value);
  if (parsed === null || parsed <= 0)
    throw new CliError(EXIT.usage, `${flag}: '${value}' is not a duration such as 90s, 30m, 4h`);
  return parsed;
}

/** Whole seconds, at least 1, for the API's `ttlSeconds` fields. */
export const wholeSeconds = (value: number) => Math.max(1, Math.round(value));

/** A YAML or JSON file holding a mapping (a create body, Helm values); exit 2 naming the file when not. */
export function readMapping(what: string, file: string, expected: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(EXIT.usage, `${what} ${file}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new CliError(EXIT.usage, `${what} ${file}: expected ${expected}`);
  return parsed as Record<string, unknown>;
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a secret file readable by its owner only, whatever was there before. */
export function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Fetches a kubeconfig for the cluster and writes it (mode 0600). */
export async function writeKubeconfig(
  ctx: CliContext,
  project: string,
  cluster: string,
  path: string,
  ttl: number | null,
): Promise<void> {
  const yaml = await ctx.call(
    ctx.client.GET('/v1/projects/{project}/clusters/{cluster}/kubeconfig', {
      params: { path: { project, cluster }, query: ttl === null ? {} : { ttlSeconds: wholeSeconds(ttl) } },
      parseAs: 'text',
    }),
  );
  writeSecretFile(path, yaml);
  ctx.note(`kubeconfig written to ${path}`);
}
