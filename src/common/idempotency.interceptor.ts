import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { UnitOfWork } from '../database/unit-of-work';
import type { AuthenticatedRequest } from './auth.guard';
import { IdempotencyKeysRepository } from './idempotency-keys.repository';
import { badRequest, ProblemError } from './problem';
import { SECRET_FIELDS, withoutSecrets } from './secret-answer';

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** Header on a replay whose first answer carried a secret that is not shown again. */
export const SECRET_WITHHELD_HEADER = 'Paddock-Secret-Withheld';

/** JSON with sorted keys, so the same body sent with another key order hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * `Idempotency-Key` on POST, PATCH and DELETE. This interceptor opens the request's transaction
 * and runs the handler inside it: the key is claimed, the handler's writes made (every
 * `UnitOfWork.run` below joins this transaction, and `UnitOfWork.dryRun` nests a savepoint in
 * it) and the answer stored, then all commit together, so "state changed" and "answer stored"
 * cannot come apart. A racing duplicate blocks on the key's row until the first commits, then
 * replays its answer; a different body under the same key is a 422.
 *
 * Answers that carry a secret (`@AnswerCarriesSecret`) are stored without it: the secret is
 * shown once, and a replay says it is withheld (`Paddock-Secret-Withheld` and
 * `secretWithheld: true`) instead of keeping it at rest for 24 hours.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly keys: IdempotencyKeysRepository,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const key = request.header('idempotency-key');
    if (key === undefined || !MUTATING.has(request.method)) return next.handle();
    if (!KEY_PATTERN.test(key)) {
      throw badRequest('Idempotency-Key must be 1-255 visible ASCII characters', [
        { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
      ]);
    }
    const credentialId = request.principal?.credentialId ?? 'anonymous';
    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.path}\n${canonical(request.body)}`)
      .digest('hex');
    const status: number =
      Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) ??
      (request.method === 'POST' ? 201 : 200);
    const secretFields = this.reflector.get<string[] | undefined>(SECRET_FIELDS, context.getHandler()) ?? [];

    return from(
      this.uow.run(async (tx) => {
        const claimed = await this.keys.claimInTransaction(tx, {
          credentialId,
          key,
          method: request.method,
          path: request.path,
          requestHash,
        });
        if (!claimed) {
          const stored = await this.keys.lockStoredInTransaction(tx, credentialId, key);
          if (!stored) {
            throw new ProblemError(
              HttpStatus.CONFLICT,
              'IDEMPOTENCY_KEY_BUSY',
              'a request with this Idempotency-Key just ended; retry',
            );
          }
          if (stored.request_hash !== requestHash) {
            throw new ProblemError(
              HttpStatus.UNPROCESSABLE_ENTITY,
              'IDEMPOTENCY_KEY_REUSED',
              'this Idempotency-Key was used with a different request; use a new key',
            );
          }
          response.status(stored.status_code).setHeader('Idempotent-Replayed', 'true');
          if (stored.location) response.setHeader('Location', stored.location);
          if (secretFields.length === 0) return stored.response_body;
          response.setHeader(SECRET_WITHHELD_HEADER, secretFields.join(', '));
          return { ...(stored.response_body as Record<string, unknown>), secretWithheld: true };
        }
        const body: unknown = await lastValueFrom(next.handle(), { defaultValue: undefined });
        const location = response.getHeader('Location');
        await this.keys.storeAnswerInTransaction(tx, credentialId, key, {
          status,
          body: withoutSecrets(body, secretFields),
          location: typeof location === 'string' ? location : null,
        });
        return body;
      }),
    );
  }
}
