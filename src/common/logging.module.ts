import { Module } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * Structured logs with request ids. Anything that could carry a secret is redacted by path,
 * whatever the code that logs it: authorization headers, any `token` field, and the parameters
 * and value details of a failed SQL statement (TypeORM's QueryFailedError carries the bound
 * values, which may be a token digest; Postgres' `detail` repeats key values).
 */
export const REDACTED_PATHS = [
  'err.parameters',
  'err.detail',
  'err.driverError.parameters',
  'err.driverError.detail',
  'err.cause.parameters',
  'err.cause.detail',
  'req.headers.authorization',
  'req.headers.cookie',
  'token',
  '*.token',
  '*.*.token',
  'err.config.headers.Authorization',
];

@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // Readable lines for a person at a terminal; JSON everywhere else (log shippers parse it).
          transport:
            config.env === 'development' && process.stdout.isTTY
              ? {
                  target: 'pino-pretty',
                  options: { singleLine: true, ignore: 'pid,hostname,req,res,responseTime' },
                }
              : undefined,
          redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
          genReqId: (req: IncomingMessage, res: ServerResponse) => {
            const given = req.headers['x-request-id'];
            const id = typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
            res.setHeader('X-Request-Id', id);
            return id;
          },
          autoLogging: {
            ignore: (req: IncomingMessage) => /^\/(healthz|readyz|metrics)/.test(req.url ?? ''),
          },
          serializers: {
            req: (req: { id: string; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
            }),
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
