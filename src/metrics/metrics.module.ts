import { Controller, Get, Global, Header, Inject, Injectable, Module, OnModuleDestroy } from '@nestjs/common';
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
import { APP_CONFIG, AppConfig } from '../config/app-config';

/**
 * Each application (the API, the worker) owns a registry, so a metric computed at scrape time reads
 * the database of the application that made it, never one that has shut down. The applications
 * of one deployment running in one process (the API and the worker on the same database and
 * queue) form a group, and `/metrics` shows the whole group: what the worker counts is scraped
 * from the API's port. Tests boot several deployments in one process; each sees only its own.
 */
interface Group {
  members: Set<Registry>;
}
const groups = new Map<string, Group>();
const groupOf = new WeakMap<Registry, Group>();

/** Process-wide metrics (CPU, memory, event loop), collected once for every group. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'paddock_' });
  }
  return processRegistry;
}

/** The registry of one application, in the group of its deployment; `leave` on shutdown. */
export function joinMetricsGroup(key: string): { registry: Registry; leave: () => void } {
  const group = groups.get(key) ?? { members: new Set<Registry>() };
  groups.set(key, group);
  const registry = new Registry();
  group.members.add(registry);
  groupOf.set(registry, group);
  return {
    registry,
    leave: () => {
      group.members.delete(registry);
      if (group.members.size === 0 && groups.get(key) === group) groups.delete(key);
    },
  };
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

/**
 * The whole exposition: prom-client's metrics, then the scraped ones, of the registry and the
 * other live members of its group (a name the registry has itself is taken from it), then the
 * process's own.
 */
export async function exposition(registry: Registry): Promise<string> {
  const group = groupOf.get(registry);
  const registries = group
    ? [registry, ...[...group.members].filter((r) => r !== registry), processMetrics()]
    : [registry];
  const merged = registries.length === 1 ? registry : new Registry();
  const own = new Map<string, ScrapedMetric>();
  for (const member of registries) {
    if (merged !== registry)
      for (const { name } of member.getMetricsAsArray()) {
        const metric = member.getSingleMetric(name);
        if (metric && !merged.getSingleMetric(name)) merged.registerMetric(metric);
      }
    for (const [name, metric] of scrapedMetrics.get(member) ?? []) if (!own.has(name)) own.set(name, metric);
  }
  const [base, ...rest] = await Promise.all([merged.metrics(), ...[...own.values()].map(renderScraped)]);
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

/** The application's registry, leaving its group when the application shuts down. */
@Injectable()
export class ApplicationMetrics implements OnModuleDestroy {
  readonly registry: Registry;
  private readonly leave: () => void;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // One deployment: the same database and queue (the API and the worker of `npm start`).
    ({ registry: this.registry, leave: this.leave } = joinMetricsGroup(
      `${config.databaseUrl}\n${config.queuePrefix}`,
    ));
  }

  onModuleDestroy(): void {
    this.leave();
  }
}

/** Provides the registry; the `/metrics` route is mounted only by the HTTP application. */
@Global()
@Module({
  providers: [
    ApplicationMetrics,
    {
      provide: Registry,
      useFactory: (metrics: ApplicationMetrics) => metrics.registry,
      inject: [ApplicationMetrics],
    },
  ],
  exports: [Registry],
})
export class MetricsModule {}

@Module({ controllers: [MetricsController] })
export class MetricsHttpModule {}
