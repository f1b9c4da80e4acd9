/** What the deployment kit queries: the Grafana dashboard's and the alert rules' PromQL. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..', '..');
export const DASHBOARD_PATH = join(ROOT, 'deploy', 'grafana', 'paddock.json');
export const ALERTS_PATH = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');

export function dashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
  };
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
}

export function alertExpressions(): string[] {
  const rules = parse(readFileSync(ALERTS_PATH, 'utf8')) as {
    groups: Array<{ rules: Array<{ expr: string }> }>;
  };
  return rules.groups.flatMap((g) => g.rules.map((r) => r.expr));
}

/** The Paddock metric families a query names (`_bucket`, `_sum`, `_count` folded into theirs). */
export function metricFamilies(queries: string[]): string[] {
  const names = new Set<string>();
  for (const q of queries)
    for (const m of q.matchAll(/\bpaddock_[a-z0-9_]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return [...names].sort();
}
