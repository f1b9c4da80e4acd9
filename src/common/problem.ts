import { HttpStatus } from '@nestjs/common';

export interface FieldProblem {
  /** Path of the offending field in the request body or query, e.g. `nodePools[1].quantity`. */
  field: string;
  message: string;
}

/**
 * An error that becomes an RFC 9457 problem-details answer with a stable upper-case `code`.
 * Services throw these; the global filter renders them. Anything else becomes a 500.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly errors?: FieldProblem[],
    /** Extensions only an admin sees (e.g. why each backend was passed over). */
    readonly adminExtensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

export const badRequest = (detail: string, errors?: FieldProblem[]) =>
  new ProblemError(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', detail, {}, errors);

export const notFound = (what: string, name: string) =>
  new ProblemError(HttpStatus.NOT_FOUND, 'NOT_FOUND', `${what} '${name}' does not exist`);

export const conflict = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemError(HttpStatus.CONFLICT, code, detail, extensions);
