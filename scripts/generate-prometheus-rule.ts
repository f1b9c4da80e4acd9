/**
 * Writes `deploy/kubernetes/base/prometheus-rule.yaml`, the Prometheus Operator's wrapping of
 * `deploy/prometheus/alerts.yml` (the rule file promtool tests), or with `--check` fails when the
 * committed one differs. One source for the rules: edit alerts.yml, then `npm run deploy:rules`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = join(__dirname, '..', '..');
export const ALERTS_PATH = join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
export const PROMETHEUS_RULE_PATH = join(ROOT, 'deploy', 'kubernetes', 'base', 'prometheus-rule.yaml');

export function renderPrometheusRule(alerts: string): string {
  const { groups } = parse(alerts) as { groups: unknown[] };
  const rule = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'paddock', labels: { 'app.kubernetes.io/name': 'paddock' } },
    spec: { groups },
  };
  return `# Generated from deploy/prometheus/alerts.yml by \`npm run deploy:rules\`; do not edit.\n${stringify(rule, { lineWidth: 0 })}`;
}

function main(): void {
  const rendered = renderPrometheusRule(readFileSync(ALERTS_PATH, 'utf8'));
  if (process.argv.includes('--check')) {
    if (readFileSync(PROMETHEUS_RULE_PATH, 'utf8') !== rendered) {
      console.error('prometheus-rule.yaml is out of date: run `npm run deploy:rules` and commit the result');
      process.exit(1);
    }
    return;
  }
  writeFileSync(PROMETHEUS_RULE_PATH, rendered);
}

if (require.main === module) main();
