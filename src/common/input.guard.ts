import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { badRequest } from './problem';
import { bodyProblems, paramProblems, queryProblems } from './request-input';
import { BODY_NOT_UTF8 } from './http-pipeline';

/**
 * The first global guard, ahead of authentication: path parameters, query and body are checked
 * for what Postgres and the validation pipe can take (NUL bytes, broken Unicode, lengths, JSON
 * depth and sizes) before any query runs or class-transformer walks the body. A problem is a 400
 * naming the field. Guards see the route's named parameters; middleware would not.
 */
@Injectable()
export class InputGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request & { [BODY_NOT_UTF8]?: boolean }>();
    const problems = [
      ...paramProblems(request.params),
      ...queryProblems(request.originalUrl),
      ...(request[BODY_NOT_UTF8]
        ? [{ field: 'body', message: 'the body must be valid UTF-8' }]
        : bodyProblems(request.body)),
    ];
    if (problems.length > 0) {
      throw badRequest(`invalid request: ${[...new Set(problems.map((p) => p.field))].join(', ')}`, problems);
    }
    return true;
  }
}
