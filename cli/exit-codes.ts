/** The `paddock` command's exit codes: a pipeline branches on these, so they never change meaning. */
export const EXIT = {
  /** Done: the request was accepted and, with `--wait`, the operation succeeded. */
  ok: 0,
  /** The operation failed (or was cancelled), or Paddock could not be reached or answered 5xx. */
  failed: 1,
  /** Bad usage or input: unknown flag, unreadable spec file, 400/404/422 from Paddock. */
  usage: 2,
  /** `--timeout` passed before the operation ended (it goes on; `paddock ops wait` picks it up). */
  timeout: 3,
  /** Refused: quota, capacity, a conflicting operation, rate limit (409, 429, 503 NO_BACKEND_AVAILABLE). */
  refused: 4,
  /** Not authenticated or not allowed (401, 403). */
  denied: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI prints as one line and exits with. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

/** The exit code of a problem-details answer, from its status. */
export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.denied;
  if (status === 409 || status === 429 || status === 503) return EXIT.refused;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.failed;
}
