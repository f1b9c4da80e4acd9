import { Controller, Get, Global, Header, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  collectDefaultMetrics,
  Counter,
  CounterConfiguration,
  Gauge,
  GaugeConfiguration,
  Histogram,
  HistogramConfiguration,
  Metric,
  Registry,
} from 'prom-client';
import { Public } from '../common/auth.guard';

/**
 * One Prometheus registry per process, shared by the API and the worker when they run together,
 * so `/metrics` shows both. Metrics are looked up by name before being created, which lets tests
 * boot several applications in one process.
 */
let processRegistry: Registry | undefined;

export function metricsRegistry(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'paddock_' });
  }
  return processRegistry;
}

export function counter<T extends string>(registry: Registry, config: CounterConfiguration<T>): Counter<T> {
  return (
    (registry.getSingleMetric(config.name) as Counter<T> | undefined) ??
    new Counter({ ...config, registers: [registry] })
  );
}

export function gauge<T extends string>(registry: Registry, config: GaugeConfiguration<T>): Gauge<T> {
  return (
    (registry.getSingleMetric(config.name) as Gauge<T> | undefined) ??
    new Gauge({ ...config, registers: [registry] })
  );
}

export function histogram<T extends string>(
  registry: Registry,
  config: HistogramConfiguration<T>,
): Histogram<T> {
  return (
    (registry.getSingleMetric(config.name) as Histogram<T> | undefined) ??
    new Histogram({ ...config, registers: [registry] })
  );
}

/** One sample of a scraped metric; `metricName` names a histogram's `_bucket`, `_sum`, `_count`. */
export interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * A metric computed whole at each scrape: `collect` returns every sample, so a series exists only
 * while a sample names it (nothing to reset, no label sets kept between scrapes), and a large
 * answer is not rebuilt through prom-client's per-label-set bookkeeping.
 */
export function scraped(
  registry: Registry,
  config: { name: string; help: string; type: 'gauge' | 'histogram'; collect: () => Promise<Sample[]> },
): void {
  if (registry.getSingleMetric(config.name)) return;
  const { name, help, type, collect } = config;
  const metric = {
    name,
    help,
    type,
    aggregator: 'first',
    get: async () => ({ name, help, type, aggregator: 'first', values: await collect() }),
  };
  registry.registerMetric(metric as unknown as Metric);
}

@Controller()
@ApiExcludeController()
class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Provides the registry; the `/metrics` route is mounted only by the HTTP application. */
@Global()
@Module({
  providers: [{ provide: Registry, useFactory: metricsRegistry }],
  exports: [Registry],
})
export class MetricsModule {}

@Module({ controllers: [MetricsController] })
export class MetricsHttpModule {}
