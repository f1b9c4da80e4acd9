import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  HttpStatus,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { TokensRepository } from '../projects/tokens.repository';
import { notFound, ProblemError } from './problem';
import { RateLimiter } from './rate-limiter';

export type Role = 'admin' | 'member' | 'ci';

/** Who is calling. Attached to the request by the guard; never carries the secret itself. */
export interface Principal {
  subject: string;
  role: Role;
  /** Stable, non-secret identifier of the credential (scopes idempotency keys and rate limits). */
  credentialId: string;
  /** The one project a `ci` token (or a narrowed `member` token) is bound to. */
  projectId: string | null;
  projectName: string | null;
}

/** What the audit log needs to know about a request, set by the guard. */
export interface AuditContext {
  action: string;
  project: string | null;
}

export type AuthenticatedRequest = Request & { principal?: Principal; audit?: AuditContext };

const PUBLIC_ROUTE = 'paddock:public';
/** Marks a route as reachable without a token (health, docs). Every other route needs one. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The caller, in a handler: `@CurrentPrincipal() principal: Principal`. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal) throw new Error('CurrentPrincipal used on a public route');
  return principal;
});

export const BOOTSTRAP_ADMIN: Principal = {
  subject: 'bootstrap-admin',
  role: 'admin',
  credentialId: 'bootstrap-admin',
  projectId: null,
  projectName: null,
};

const digest = (value: string) => createHash('sha256').update(value).digest();
export const tokenHash = (secret: string) => digest(secret).toString('hex');

const unauthenticated = (detail: string) =>
  new ProblemError(HttpStatus.UNAUTHORIZED, 'UNAUTHENTICATED', detail);

/** Where `@ApiOperation()` keeps its options (@nestjs/swagger does not export the constant). */
const API_OPERATION_METADATA = 'swagger/apiOperation';

const isAdminPath = (path: string) => path === '/v1/admin' || path.startsWith('/v1/admin/');

/**
 * Checks a credential: the bootstrap SRE token (constant-time compare) or an API token, looked up
 * by its SHA-256 digest in one indexed query (no cache, so a revocation or an expiry takes effect
 * on the very next request, on every replica). Used by the guard and by routes outside Nest's
 * controllers (the queue dashboard).
 */
@Injectable()
export class Authenticator {
  private readonly adminDigest: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tokens: TokensRepository,
  ) {
    this.adminDigest = digest(config.adminToken);
  }

  /** The caller behind `secret`, and whether it is a member of `project`; throws a 401 problem. */
  async verify(secret: string, project: string | null): Promise<Principal & { memberOfTarget?: boolean }> {
    if (timingSafeEqual(digest(secret), this.adminDigest)) return BOOTSTRAP_ADMIN;
    // Only our own token format is looked up; anything else cannot be a token we issued.
    if (!/^pdk_[A-Za-z0-9_-]{20,100}$/.test(secret)) throw unauthenticated('the token is not valid');
    const token = await this.tokens.lookup(tokenHash(secret), project);
    if (!token) throw unauthenticated('the token is not valid');
    if (token.revokedAt) throw unauthenticated('the token has been revoked');
    if (token.expiresAt && token.expiresAt.getTime() <= Date.now())
      throw unauthenticated('the token has expired');
    return {
      subject: token.subject,
      role: token.role,
      credentialId: `token:${token.id}`,
      projectId: token.projectId,
      projectName: token.projectName,
      memberOfTarget: token.memberOfTarget,
    };
  }
}

/**
 * The one global guard, for every route not marked `@Public()`:
 * 1. authenticates the bearer token (`Authenticator`);
 * 2. authorizes — `/v1/admin/*` is for admins only (403); a `{project}` the caller cannot see is
 *    a 404, exactly like a project that does not exist;
 * 3. counts the request against the token's and the project's rate limits (admins are exempt).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
    private readonly limiter: RateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const project = typeof request.params?.project === 'string' ? request.params.project : null;
    const operation = Reflect.getMetadata(API_OPERATION_METADATA, context.getHandler()) as
      { operationId?: string } | undefined;
    request.audit = {
      action: operation?.operationId ?? `${context.getClass().name}.${context.getHandler().name}`,
      project,
    };

    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) throw unauthenticated('a bearer token is required');
    const { memberOfTarget, ...principal } = await this.authenticator.verify(match[1], project);
    request.principal = principal;
    const denial = this.authorize(request, principal, memberOfTarget === true, project);
    if (principal.role !== 'admin') {
      const limited = await this.limiter.hit(
        principal.credentialId,
        denial ? null : (project ?? principal.projectName),
      );
      if (limited) {
        context
          .switchToHttp()
          .getResponse<Response>()
          .setHeader('Retry-After', String(limited.retryAfterSeconds));
        throw new ProblemError(
          HttpStatus.TOO_MANY_REQUESTS,
          'RATE_LIMITED',
          `too many requests for this ${limited.scope}; retry in ${limited.retryAfterSeconds} s`,
          { scope: limited.scope, limit: limited.limit, retryAfterSeconds: limited.retryAfterSeconds },
        );
      }
    }
    if (denial) throw denial;
    return true;
  }

  /** The error to answer with, or null when the caller may go on. */
  private authorize(
    request: AuthenticatedRequest,
    principal: Principal,
    memberOfTarget: boolean,
    project: string | null,
  ): ProblemError | null {
    if (principal.role === 'admin') return null;
    if (isAdminPath(request.path)) {
      return new ProblemError(HttpStatus.FORBIDDEN, 'FORBIDDEN', 'this route is for administrators');
    }
    if (project === null) return null;
    const visible =
      principal.role === 'ci'
        ? principal.projectName === project
        : memberOfTarget && (principal.projectName === null || principal.projectName === project);
    return visible ? null : notFound('project', project);
  }
}
