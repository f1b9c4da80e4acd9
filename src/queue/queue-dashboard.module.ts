import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Authenticator } from '../common/auth.guard';
import { ProblemError } from '../common/problem';
import { PROBLEM_CODE_LOCAL, problemBody } from '../common/problem-details.filter';
import { ProjectsModule } from '../projects/projects.module';
import { QUEUES } from './queues';

export const QUEUE_DASHBOARD_ROUTE = '/admin/queues';

/**
 * The secret a request to the dashboard carries: a bearer token (curl, scripts), or the password
 * of HTTP Basic credentials — what a browser can send by itself on every page, asset and XHR of
 * the UI once it has asked for them (the user name is ignored).
 */
function presentedSecret(header: string | undefined): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
}

/**
 * Admits admins only. bull-board's routes are an Express router, outside Nest's controllers, so
 * the global guard never sees them: this middleware is their guard. Refusals are problem details.
 */
export function adminOnly(authenticator: Authenticator) {
  const refuse = (res: Response, status: 401 | 403, code: string, detail: string) => {
    if (status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="Paddock queues", charset="UTF-8"');
    res.locals[PROBLEM_CODE_LOCAL] = code;
    res
      .status(status)
      .type('application/problem+json')
      .json(problemBody(status, code, detail));
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const secret = presentedSecret(req.headers.authorization);
    if (!secret) return refuse(res, 401, 'UNAUTHENTICATED', 'an admin token is required');
    authenticator.verify(secret, null).then(
      (principal) =>
        principal.role === 'admin'
          ? next()
          : refuse(res, 403, 'FORBIDDEN', 'the queue dashboard is for administrators'),
      (error: unknown) =>
        error instanceof ProblemError && error.status === 401
          ? refuse(res, 401, 'UNAUTHENTICATED', error.detail)
          : next(error),
    );
  };
}

/**
 * bull-board at `/admin/queues`, read-only: Postgres holds every operation and the sweeper
 * re-creates lost jobs, so the dashboard is for looking (depths, failures, delays), not for
 * editing jobs by hand.
 */
@Module({
  imports: [
    BullBoardModule.forRootAsync({
      imports: [ProjectsModule],
      inject: [Authenticator],
      useFactory: (authenticator: Authenticator) => ({
        route: QUEUE_DASHBOARD_ROUTE,
        adapter: ExpressAdapter,
        boardOptions: { uiConfig: { boardTitle: 'Paddock queues' } },
        middleware: adminOnly(authenticator),
      }),
    }),
    BullBoardModule.forFeature(
      ...Object.values(QUEUES).map((name) => ({
        name,
        adapter: BullMQAdapter,
        options: { readOnlyMode: true },
      })),
    ),
  ],
})
export class QueueDashboardModule {}
