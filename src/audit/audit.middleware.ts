import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Response } from 'express';
import type { AuthenticatedRequest } from '../common/auth.guard';
import { PROBLEM_CODE_LOCAL } from '../common/problem-details.filter';
import { sourceAddress } from '../common/rate-limiter';
import { AuditSampler } from './audit-sampler';
import { NewAuditEvent } from './audit.repository';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** For creates, the name of the created object (never any other body field, which may be secret). */
function createdName(request: AuthenticatedRequest): string | null {
  if (request.method !== 'POST' || !request.body || typeof request.body !== 'object') return null;
  const body = request.body as Record<string, unknown>;
  for (const field of ['name', 'subject']) {
    const value = body[field];
    if (typeof value === 'string' && /^[\w.@:+-]{1,128}$/.test(value)) return value;
  }
  return null;
}

/**
 * Records every mutating request — allowed, refused or failed, whatever refused it — in
 * `audit_events`. It is the first middleware of the pipeline (see http-pipeline.ts), so a request
 * refused by the body parser or the rate limit is recorded too. The row is written once the
 * answer has been sent, so auditing adds no latency; who, which project and which action come
 * from the guard, the problem code from the filter. Bodies are never stored. Failed
 * authentications go through the sampler, so that a flood cannot grow the table without bound
 * (other refusals before authentication are bounded by the per-address limit, which they count
 * against).
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(private readonly sampler: AuditSampler) {}

  use(request: AuthenticatedRequest, response: Response, next: NextFunction): void {
    if (!MUTATING.has(request.method)) return next();
    const path = request.originalUrl.split('?')[0];
    response.once('finish', () => {
      const principal = request.principal;
      const body = request.body as Record<string, unknown> | undefined;
      const name = createdName(request);
      const requestId = response.getHeader('X-Request-Id');
      const event: NewAuditEvent = {
        actor: principal?.subject ?? 'anonymous',
        role: principal?.role ?? null,
        credentialId: principal?.credentialId ?? null,
        project:
          request.audit?.project ??
          (typeof body?.project === 'string' ? body.project : null) ??
          principal?.projectName ??
          null,
        action: request.audit?.action ?? `${request.method} ${path}`,
        method: request.method,
        target: name ? `${path.replace(/\/$/, '')}/${name}` : path,
        status: response.statusCode,
        code: (response.locals[PROBLEM_CODE_LOCAL] as string | undefined) ?? null,
        requestId: typeof requestId === 'string' ? requestId : null,
        source: sourceAddress(request),
        occurrences: 1,
      };
      const failedAuthentication = !principal && (event.status === 401 || event.status === 429);
      if (failedAuthentication) this.sampler.record(event);
      else this.sampler.write(event);
    });
    next();
  }
}
