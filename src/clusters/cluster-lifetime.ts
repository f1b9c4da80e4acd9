import { HttpStatus } from '@nestjs/common';
import { badRequest, ProblemError } from '../common/problem';

/**
 * When a cluster expires, and the project's limit on it. A lifetime is counted from the
 * cluster's creation, so extending a cluster never lets it live longer than a new one could.
 */

/** The expiry a create asks for (`expiresAt`, or `ttlSeconds` from now), or the project's maximum when it asks none. */
export function expiryOfCreate(
  body: { expiresAt?: string; ttlSeconds?: number },
  maxLifetimeSeconds: number | null,
  now: Date,
): Date | null {
  if (body.expiresAt !== undefined && body.ttlSeconds !== undefined) {
    throw badRequest('invalid request: expiresAt, ttlSeconds', [
      { field: 'ttlSeconds', message: 'give expiresAt or ttlSeconds, not both' },
    ]);
  }
  if (body.ttlSeconds !== undefined) return new Date(now.getTime() + body.ttlSeconds * 1000);
  if (body.expiresAt !== undefined) return new Date(body.expiresAt);
  return maxLifetimeSeconds === null ? null : new Date(now.getTime() + maxLifetimeSeconds * 1000);
}

/**
 * Refuses an expiry in the past (400 naming `expiresAt`) or beyond the project's maximum
 * lifetime counted from `createdAt` (422 `LIFETIME_EXCEEDED`, which names the latest allowed).
 */
export function checkExpiry(
  expiresAt: Date | null,
  createdAt: Date,
  maxLifetimeSeconds: number | null,
  now: Date,
): void {
  if (expiresAt !== null && expiresAt.getTime() <= now.getTime()) {
    throw badRequest('invalid request: expiresAt', [
      { field: 'expiresAt', message: 'expiresAt must be in the future' },
    ]);
  }
  if (maxLifetimeSeconds === null) return;
  const latest = new Date(createdAt.getTime() + maxLifetimeSeconds * 1000);
  if (expiresAt === null || expiresAt.getTime() > latest.getTime()) {
    throw new ProblemError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'LIFETIME_EXCEEDED',
      `clusters of this project live at most ${maxLifetimeSeconds} s; this one may expire at ${latest.toISOString()} at the latest`,
      { maxClusterLifetimeSeconds: maxLifetimeSeconds, latestExpiresAt: latest.toISOString() },
    );
  }
}
