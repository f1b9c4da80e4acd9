import type { NestExpressApplication } from '@nestjs/platform-express';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { json, type NextFunction, type Request, type Response } from 'express';
import { AuditMiddleware } from '../audit/audit.middleware';
import { ProblemError } from './problem';
import { AnonymousRateLimit } from './rate-limiter';

/** Set on a request whose JSON body was not valid UTF-8 (the parser would have replaced bytes). */
export const BODY_NOT_UTF8 = 'paddockBodyNotUtf8';

/** Largest JSON body; Nest's own default, kept explicit now that the parser is configured here. */
export const MAX_BODY_BYTES = 100 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;
const TAKES_BODY = new Set(['POST', 'PUT', 'PATCH']);

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * Every route that takes a body takes JSON. Anything else (text, XML, a form, multipart) is a
 * 415 before it is read, rather than a body silently treated as empty.
 */
function requireJson(request: Request, _response: Response, next: NextFunction): void {
  if (!TAKES_BODY.has(request.method) || !hasBody(request)) return next();
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim();
  if (JSON_TYPE.test(type)) return next();
  next(
    new ProblemError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `request bodies must be application/json${type ? `, not ${type}` : ' (no Content-Type was sent)'}`,
    ),
  );
}

/**
 * The HTTP pipeline ahead of the routes, in order: the audit log (first, so that every refusal
 * below is recorded too), the per-address limit on failed authentication, the media type check,
 * and the one body parser (JSON only). Nest's default parsers are off (`bodyParser: false`).
 */
export function configureHttpPipeline(app: NestExpressApplication): void {
  const audit = app.get(AuditMiddleware);
  const anonymous = app.get(AnonymousRateLimit);
  app.use((request: Request, response: Response, next: NextFunction) => audit.use(request, response, next));
  app.use((request: Request, response: Response, next: NextFunction) =>
    anonymous.use(request, response, next),
  );
  app.use(requireJson);
  app.use(
    json({
      limit: MAX_BODY_BYTES,
      type: (request: IncomingMessage) =>
        JSON_TYPE.test((request.headers['content-type'] ?? '').split(';')[0].trim()),
      // The parser decodes invalid UTF-8 into U+FFFD without a word; mark it, the input guard refuses it.
      verify: (request: IncomingMessage, _response: ServerResponse, buffer: Buffer) => {
        if (!isUtf8(buffer))
          (request as IncomingMessage & { [BODY_NOT_UTF8]?: boolean })[BODY_NOT_UTF8] = true;
      },
    }),
  );
}
