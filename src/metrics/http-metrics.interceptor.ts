import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Registry } from 'prom-client';
import { Observable } from 'rxjs';
import { histogram } from './metrics.module';

/** Request latency by route template (bounded cardinality), method and status. */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  private readonly latency;

  constructor(registry: Registry) {
    this.latency = histogram(registry, {
      name: 'paddock_http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    });
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    const response = context.switchToHttp().getResponse<Response>();
    const end = this.latency.startTimer();
    response.once('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: request.method, route, status: String(response.statusCode) });
    });
    return next.handle();
  }
}
