/**
 * Prometheus metrics for Rancher calls: the default `RancherCallObserver`.
 *
 * Metrics are registered on the registry the caller passes in (never implicitly on prom-client's
 * global one), so tests can build many clients and the service decides what `/metrics` exposes.
 * Several observers on one registry share the same metric objects.
 */

import { Counter, Histogram, Registry } from 'prom-client';
import type { RancherCallEvent, RancherCallObserver } from './rancher-client';

export const RANCHER_CALLS_TOTAL = 'paddock_rancher_calls_total';
export const RANCHER_CALL_DURATION = 'paddock_rancher_call_duration_seconds';

const LABELS = ['backend', 'method', 'route', 'outcome'] as const;
type Label = (typeof LABELS)[number];

/** `outcome` is the HTTP status when the server answered, else the error kind (`timeout`, `network`, `circuit-open`, ...). */
export function callOutcome(event: RancherCallEvent): string {
  if (event.status !== undefined) return String(event.status);
  return event.errorKind ?? 'unknown';
}

export function createRancherMetricsObserver(registry: Registry): RancherCallObserver {
  const calls =
    (registry.getSingleMetric(RANCHER_CALLS_TOTAL) as Counter<Label> | undefined) ??
    new Counter<Label>({
      name: RANCHER_CALLS_TOTAL,
      help: 'HTTP calls made to Rancher backends, by outcome (status code or error kind).',
      labelNames: LABELS,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric(RANCHER_CALL_DURATION) as Histogram<Label> | undefined) ??
    new Histogram<Label>({
      name: RANCHER_CALL_DURATION,
      help: 'Duration of HTTP calls to Rancher backends, in seconds.',
      labelNames: LABELS,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  return {
    onCall(event: RancherCallEvent): void {
      const labels = {
        backend: event.backend,
        method: event.method,
        route: event.route,
        outcome: callOutcome(event),
      };
      calls.inc(labels);
      duration.observe(labels, event.durationMs / 1000);
    },
  };
}
