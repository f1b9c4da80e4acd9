import { CallHandler, ExecutionContext, HttpStatus, Injectable, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { UnitOfWork } from '../database/unit-of-work';
import type { AuthenticatedRequest } from './auth.guard';
import { badRequest, ProblemError } from './problem';

const MUTATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const RETENTION_HOURS = 24;

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

interface StoredAnswer {
  request_hash: string;
  status_code: number;
  response_body: unknown;
  location: string | null;
}

/**
 * `Idempotency-Key` on POST, PATCH and DELETE. The key row is inserted in the same transaction
 * as the request's own writes and filled with the answer before commit, so "state changed" and
 * "answer stored" cannot come apart. A racing duplicate blocks on the key's row until the first
 * commits, then replays its answer; a different body under the same key is a 422.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly uow: UnitOfWork) {}

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
    const credential = request.principal?.credentialId ?? 'anonymous';
    const hash = createHash('sha256')
      .update(`${request.method} ${request.path}\n${canonical(request.body)}`)
      .digest('hex');
    const status: number =
      Reflect.getMetadata(HTTP_CODE_METADATA, context.getHandler()) ??
      (request.method === 'POST' ? 201 : 200);

    return from(
      this.uow.run(async (m) => {
        const inserted: unknown[] = await m.query(
          `INSERT INTO idempotency_keys (credential_id, key, method, path, request_hash, status_code, expires_at)
           VALUES ($1, $2, $3, $4, $5, 0, now() + make_interval(hours => $6))
           ON CONFLICT (credential_id, key) DO NOTHING RETURNING key`,
          [credential, key, request.method, request.path, hash, RETENTION_HOURS],
        );
        if (inserted.length === 0) {
          const [stored]: StoredAnswer[] = await m.query(
            `SELECT request_hash, status_code, response_body, location FROM idempotency_keys
             WHERE credential_id = $1 AND key = $2 FOR UPDATE`,
            [credential, key],
          );
          if (!stored) {
            throw new ProblemError(
              HttpStatus.CONFLICT,
              'IDEMPOTENCY_KEY_BUSY',
              'a request with this Idempotency-Key just ended; retry',
            );
          }
          if (stored.request_hash !== hash) {
            throw new ProblemError(
              HttpStatus.UNPROCESSABLE_ENTITY,
              'IDEMPOTENCY_KEY_REUSED',
              'this Idempotency-Key was used with a different request; use a new key',
            );
          }
          response.status(stored.status_code).setHeader('Idempotent-Replayed', 'true');
          if (stored.location) response.setHeader('Location', stored.location);
          return stored.response_body;
        }
        const body = await lastValueFrom(next.handle(), { defaultValue: undefined });
        const location = response.getHeader('Location');
        await m.query(
          `UPDATE idempotency_keys SET status_code = $3, response_body = $4, location = $5
           WHERE credential_id = $1 AND key = $2`,
          [
            credential,
            key,
            status,
            body === undefined ? null : JSON.stringify(body),
            typeof location === 'string' ? location : null,
          ],
        );
        return body;
      }),
    );
  }
}
