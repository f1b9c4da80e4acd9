import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createPaddockClient, type PaddockClient } from './api/client';
import { CliError, EXIT, exitCodeOfStatus } from './exit-codes';
import type { OutputFormat } from './output';

/** Options every command takes (commander's global options). */
export interface GlobalOptions {
  url?: string;
  token?: string;
  config?: string;
  output: OutputFormat;
  idempotencyKey?: string;
}

interface ConfigFile {
  url?: string;
  token?: string;
  project?: string;
}

/** Attempts per request after a network failure: enough to ride out a restart of the API behind a load balancer. */
const NETWORK_ATTEMPTS = 5;

/** What a command runs with: its client, where it writes, the project it defaults to. */
export class CliContext {
  readonly client: PaddockClient;
  readonly url: string;
  private readonly defaultProject: string | undefined;

  constructor(
    readonly options: GlobalOptions,
    env: NodeJS.ProcessEnv,
    private readonly stderr: NodeJS.WriteStream,
  ) {
    const file = readConfigFile(options.config ?? env.PADDOCK_CONFIG);
    const url = options.url ?? env.PADDOCK_URL ?? file.url;
    const token = options.token ?? env.PADDOCK_TOKEN ?? file.token;
    if (!url)
      throw new CliError(EXIT.usage, 'no Paddock URL: set PADDOCK_URL, --url, or url in the config file');
    if (!token)
      throw new CliError(EXIT.usage, 'no token: set PADDOCK_TOKEN, --token, or token in the config file');
    this.url = url;
    this.defaultProject = env.PADDOCK_PROJECT ?? file.project;
    this.client = createPaddockClient({
      url,
      token,
      idempotencyKey: options.idempotencyKey ?? env.PADDOCK_IDEMPOTENCY_KEY,
      attempts: NETWORK_ATTEMPTS,
      onRetry: ({ method, attempt, error }) =>
        this.note(
          `network error on ${method} (${error.message}); retrying (${attempt}/${NETWORK_ATTEMPTS - 1})`,
        ),
    });
  }

  /** A line for the person or the CI log (stderr), never mixed with the command's output. */
  note(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  get interactive(): boolean {
    return this.stderr.isTTY === true;
  }

  /**
   * The project a command is about: `-p`, else PADDOCK_PROJECT or the config file, else the only
   * project the token can see (a `ci` token sees one).
   */
  async project(explicit: string | undefined): Promise<string> {
    if (explicit) return explicit;
    if (this.defaultProject) return this.defaultProject;
    const projects = await this.call(this.client.GET('/v1/projects'));
    if (projects.items.length === 1) return projects.items[0].name;
    throw new CliError(EXIT.usage, 'which project? give -p/--project (or set PADDOCK_PROJECT)');
  }

  /** The answer's body, or a CliError with the problem's code and detail and the exit code of its status. */
  async call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let result: { data?: T; error?: unknown; response: Response };
    try {
      result = await request;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new CliError(
        EXIT.failed,
        `cannot reach Paddock at ${this.url}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`,
      );
    }
    if (result.error === undefined && result.response.ok) return result.data as T;
    throw problemError(result.response.status, result.error);
  }
}

function readConfigFile(path: string | undefined): ConfigFile {
  const location = path ?? join(homedir(), '.config', 'paddock', 'config.yaml');
  if (!existsSync(location)) {
    if (path) throw new CliError(EXIT.usage, `config file ${path} does not exist`);
    return {};
  }
  try {
    const parsed: unknown = parse(readFileSync(location, 'utf8'));
    if (parsed === null || parsed === undefined) return {};
    if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a mapping');
    return parsed as ConfigFile;
  } catch (error) {
    throw new CliError(EXIT.usage, `config file ${location}: ${(error as Error).message}`);
  }
}

/** `CODE: detail`, then one line per offending field. */
export function problemError(status: number, body: unknown): CliError {
  const problem = (typeof body === 'object' && body !== null ? body : {}) as {
    code?: string;
    detail?: string;
    errors?: Array<{ field: string; message: string }>;
  };
  const head = `${problem.code ?? `HTTP_${status}`}: ${problem.detail ?? (typeof body === 'string' && body ? body : 'no detail')}`;
  const fields = (problem.errors ?? []).map((e) => `  ${e.field}: ${e.message}`);
  return new CliError(exitCodeOfStatus(status), [head, ...fields].join('\n'));
}
