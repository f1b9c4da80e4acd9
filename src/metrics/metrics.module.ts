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

interface ScrapedMetric {
  name: string;
  help: string;
  type: 'gauge' | 'histogram';
  collect: () => Promise<Sample[]>;
}

/** The scraped metrics of each registry (tests boot several applications in one process). */
const scrapedMetrics = new WeakMap<Registry, Map<string, ScrapedMetric>>();

/**
 * A metric computed whole at each scrape: `collect` returns every sample, so a series exists only
 * while a sample names it (nothing to reset, no label sets kept between scrapes). Its text is
 * written here rather than through prom-client, whose formatting costs about 10 µs a sample — half
 * a second for the 50,000 node series of a fleet having a very bad day.
 */
export function scraped(registry: Registry, metric: ScrapedMetric): void {
  const own = scrapedMetrics.get(registry) ?? new Map<string, ScrapedMetric>();
  scrapedMetrics.set(registry, own);
  if (!own.has(metric.name)) own.set(metric.name, metric);
}

const NEEDS_ESCAPE = /[\\"\n]/;
const escaped = (value: string) =>
  NEEDS_ESCAPE.test(value) ? value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`)) : value;
const formatValue = (value: number) =>
  Number.isNaN(value) ? 'NaN' : value === Infinity ? '+Inf' : value === -Infinity ? '-Inf' : String(value);

async function renderScraped(metric: ScrapedMetric): Promise<string> {
  const lines = [
    `# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
    `# TYPE ${metric.name} ${metric.type}`,
  ];
  for (const sample of await metric.collect()) {
    let labels = '';
    for (const key in sample.labels) {
      const value = sample.labels[key];
      labels += `${labels ? ',' : ''}${key}="${typeof value === 'number' ? formatValue(value) : escaped(value)}"`;
    }
    lines.push(
      `${sample.metricName ?? metric.name}${labels ? `{${labels}}` : ''} ${formatValue(sample.value)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The whole exposition: prom-client's metrics, then the scraped ones. */
export async function exposition(registry: Registry): Promise<string> {
  const own = [...(scrapedMetrics.get(registry)?.values() ?? [])];
  const [base, ...rest] = await Promise.all([registry.metrics(), ...own.map(renderScraped)]);
  return rest.length === 0 ? base : `${base}\n${rest.join('\n')}`;
}

@Controller()
@ApiExcludeController()
class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return exposition(this.registry);
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
