import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { ProblemError } from './problem';

export type Role = 'admin' | 'member' | 'ci';

/** Who is calling. Attached to the request by the guard; never carries the secret itself. */
export interface Principal {
  subject: string;
  role: Role;
  /** Stable, non-secret identifier of the credential (used to scope idempotency keys). */
  credentialId: string;
}

export type AuthenticatedRequest = Request & { principal?: Principal };

const PUBLIC_ROUTE = 'paddock:public';
/** Marks a route as reachable without a token (health, docs). Every other route needs one. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The one global guard. Until project tokens exist, the only credential is the bootstrap SRE
 * token, compared in constant time; no route is open unless marked `@Public()`.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly adminDigest: Buffer;

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.adminDigest = digest(config.adminToken);
  }

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) {
      throw new ProblemError(HttpStatus.UNAUTHORIZED, 'UNAUTHENTICATED', 'a bearer token is required');
    }
    if (!timingSafeEqual(digest(match[1]), this.adminDigest)) {
      throw new ProblemError(HttpStatus.UNAUTHORIZED, 'UNAUTHENTICATED', 'the token is not valid');
    }
    request.principal = { subject: 'bootstrap-admin', role: 'admin', credentialId: 'bootstrap-admin' };
    return true;
  }
}
