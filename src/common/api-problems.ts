import { ApiExtension } from '@nestjs/swagger';
import { problemBody } from './problem-details.filter';

/** Where a route's own problem codes travel from its decorator to the document builder. */
export const PROBLEM_CODES_EXTENSION = 'x-problem-codes';

export type ProblemCodes = Partial<Record<number, string[]>>;

/**
 * The problem codes a route answers beyond the ones every route of its kind may (see
 * `withProblemResponses`): `@ApiProblems({ 409: ['QUOTA_EXCEEDED'] })`. The document builder turns
 * them into responses that name each code, so a generated client knows what it may get.
 */
export const ApiProblems = (codes: ProblemCodes) => ApiExtension(PROBLEM_CODES_EXTENSION, codes);

type Operation = {
  security?: unknown[];
  parameters?: Array<{ in: string }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
  [PROBLEM_CODES_EXTENSION]?: ProblemCodes;
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is not valid; `errors` names each offending field. Nothing was written.',
  401: 'No valid bearer token.',
  403: 'The token may not do this.',
  404: 'Not found, or not visible to this token.',
  409: 'Refused in the current state; nothing was changed.',
  413: 'The body is too large.',
  415: 'The body is not JSON.',
  422: 'Well-formed, but not something Paddock can do.',
  429: 'Too many requests (from this token, project or address); retry after `Retry-After` seconds.',
  500: 'Unexpected error; the answer carries an id to quote, never a stack.',
  503: 'A dependency is unavailable; retry after `Retry-After` seconds.',
};

const EXAMPLE_DETAIL: Record<string, string> = {
  VALIDATION_FAILED: 'invalid request: nodePools[0].quantity',
  UNAUTHENTICATED: 'a bearer token is required',
  FORBIDDEN: 'this route is for admins only',
  NOT_FOUND: "cluster 'web-prod' does not exist",
  RATE_LIMITED: 'too many requests for this token; retry in 3 s',
  INTERNAL: 'unexpected error (id 3f1c…); the operators have it in the log',
  DATABASE_UNAVAILABLE: 'the database is unavailable; retry shortly',
  DATABASE_BUSY:
    'the database is too busy to finish this request right now and nothing was written; try again shortly',
};

const problemResponse = (status: number, codes: string[]) => {
  const [first] = codes;
  return {
    description: `${DESCRIPTIONS[status] ?? 'Problem details.'} Codes: ${codes.map((c) => `\`${c}\``).join(', ')}.`,
    content: {
      'application/problem+json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/ProblemDto' },
            { type: 'object', properties: { code: { type: 'string', enum: codes } } },
          ],
        },
        example: problemBody(
          status,
          first,
          EXAMPLE_DETAIL[first] ?? `${first.toLowerCase().replace(/_/g, ' ')}`,
        ),
      },
    },
  };
};

/**
 * Gives every operation its problem-details responses with their codes: what every route of its
 * kind may answer (no token, rate limit, unknown name in the path, invalid input, admin only,
 * the database down, an unexpected error), plus the route's own `@ApiProblems`. Public routes
 * are marked as such (`security: []`), so every operation declares its security.
 */
export function withProblemResponses(method: string, path: string, operation: Operation): void {
  const codes: Record<number, Set<string>> = {};
  const add = (status: number, ...list: string[]) => {
    codes[status] ??= new Set();
    for (const code of list) codes[status].add(code);
  };
  const secured = (operation.security?.length ?? 0) > 0;
  if (!secured) operation.security = [];
  const hasInput =
    operation.requestBody !== undefined || (operation.parameters ?? []).some((p) => p.in === 'query');
  if (hasInput) add(400, 'VALIDATION_FAILED');
  if (secured) add(401, 'UNAUTHENTICATED');
  if (path.startsWith('/v1/admin')) add(403, 'FORBIDDEN');
  if (secured && (operation.parameters ?? []).some((p) => p.in === 'path')) add(404, 'NOT_FOUND');
  if (operation.requestBody !== undefined) add(413, 'PAYLOAD_TOO_LARGE');
  if (operation.requestBody !== undefined) add(415, 'UNSUPPORTED_MEDIA_TYPE');
  if (secured && method !== 'get') {
    // The `Idempotency-Key` header, accepted on every mutating route.
    add(409, 'IDEMPOTENCY_KEY_BUSY');
    add(422, 'IDEMPOTENCY_KEY_REUSED');
  }
  // Public routes too: an address past its limit of failed authentications is refused everywhere.
  add(429, 'RATE_LIMITED');
  add(500, 'INTERNAL');
  if (secured) add(503, 'DATABASE_UNAVAILABLE', 'DATABASE_BUSY');
  for (const [status, list] of Object.entries(operation[PROBLEM_CODES_EXTENSION] ?? {}))
    add(Number(status), ...(list ?? []));
  delete operation[PROBLEM_CODES_EXTENSION];
  for (const [status, set] of Object.entries(codes)) {
    operation.responses[status] = problemResponse(Number(status), [...set]);
  }
}
