import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { isDatabaseBusy, isDatabaseUnavailable } from '../database/database-errors';
import type { AuthenticatedRequest } from './auth.guard';
import { FieldProblem, ProblemError } from './problem';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Codes for errors Nest raises itself (routing, body parsing), so every answer carries a `code`. */
const CODES_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

/** The problem `code` of an error answer, left on `res.locals` for the audit log. */
export const PROBLEM_CODE_LOCAL = 'problemCode';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export function problemBody(
  status: number,
  code: string,
  detail: string,
  extra: Record<string, unknown> = {},
) {
  return {
    type: `https://paddock.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  } satisfies ProblemBody;
}

/** The 4xx status of an `http-errors` error (what Express's body parser raises), or null. */
function clientErrorStatus(exception: unknown): number | null {
  if (!(exception instanceof Error)) return null;
  const status = (exception as { status?: unknown; expose?: unknown }).status;
  const exposed = (exception as { expose?: unknown }).expose === true;
  return exposed && typeof status === 'number' && status >= 400 && status < 500 ? status : null;
}

/**
 * The one error shape of the API (RFC 9457). Known errors keep their status and code; anything
 * unexpected becomes a 500 whose body carries only an error id, the stack goes to the log.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const response = http.getResponse<Response>();
    const request = http.getRequest<Request>();
    const body = this.toProblem(exception, request);
    if (response.headersSent) return;
    // For the audit log, which records the outcome of every mutating request.
    response.locals[PROBLEM_CODE_LOCAL] = body.code;
    if (body.code === 'DATABASE_UNAVAILABLE' || body.code === 'DATABASE_BUSY')
      response.setHeader('Retry-After', '1');
    else if (typeof body.retryAfterSeconds === 'number')
      response.setHeader('Retry-After', String(body.retryAfterSeconds));
    response.status(body.status).type('application/problem+json').json(body);
  }

  private toProblem(exception: unknown, request: Request): ProblemBody {
    if (exception instanceof ProblemError) {
      const admin = (request as AuthenticatedRequest).principal?.role === 'admin';
      return problemBody(exception.status, exception.code, exception.detail, {
        ...exception.extensions,
        ...(admin ? exception.adminExtensions : {}),
        ...(exception.errors ? { errors: exception.errors } : {}),
      });
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const message =
        typeof response === 'string'
          ? response
          : String((response as { message?: unknown }).message ?? exception.message);
      if (status < 500) {
        return problemBody(status, CODES_BY_STATUS[status] ?? 'ERROR', message);
      }
    }
    const parserStatus = clientErrorStatus(exception);
    if (parserStatus !== null) {
      // Raised by the body parser (too large, unreadable, bad charset) before any route ran.
      return problemBody(
        parserStatus,
        CODES_BY_STATUS[parserStatus] ?? 'BAD_REQUEST',
        (exception as Error).message,
      );
    }
    if (isDatabaseUnavailable(exception)) {
      // Postgres is down, restarting or out of connections: a retryable 503, not a 500.
      this.logger.warn(
        { err: exception, method: request.method, path: request.path },
        'database unavailable while handling a request',
      );
      return problemBody(
        HttpStatus.SERVICE_UNAVAILABLE,
        'DATABASE_UNAVAILABLE',
        'the database is unavailable right now; try again shortly (an Idempotency-Key makes retrying a change safe)',
      );
    }
    if (isDatabaseBusy(exception)) {
      // A statement outwaited its timeout (a burst of creates queued on one project's quota row):
      // rolled back, nothing written, worth sending again.
      this.logger.warn(
        { err: exception, method: request.method, path: request.path },
        'database too busy to finish a request in time',
      );
      return problemBody(
        HttpStatus.SERVICE_UNAVAILABLE,
        'DATABASE_BUSY',
        'the database is too busy to finish this request right now and nothing was written; try again shortly (an Idempotency-Key makes retrying a change safe)',
      );
    }
    const errorId = randomUUID();
    this.logger.error(
      { err: exception, errorId, method: request.method, path: request.path },
      'unexpected error while handling a request',
    );
    return problemBody(
      HttpStatus.INTERNAL_SERVER_ERROR,
      'INTERNAL',
      `unexpected error; reference ${errorId}`,
      {
        errorId,
      },
    );
  }
}
