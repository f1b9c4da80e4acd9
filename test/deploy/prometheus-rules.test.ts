/**
 * The alert rules Paddock ships: promtool (Prometheus' own checker, Debian's `prometheus`
 * package; `.ci/run` installs it) checks `deploy/prometheus/alerts.yml` and runs its unit tests
 * (`alerts.test.yml`: series that must fire and series that must not); every alert the runbook
 * promises exists with a `for:`, a severity and a summary naming what is wrong; and the
 * PrometheusRule in the manifests is the same file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  ALERTS_PATH,
  PROMETHEUS_RULE_PATH,
  renderPrometheusRule,
} from '../../scripts/generate-prometheus-rule';

const PROMETHEUS_DIR = join(ALERTS_PATH, '..');

function promtool(...args: string[]) {
  const result = spawnSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail('promtool is not installed: `apt-get install -y prometheus` (the CI script does it)');
  }
  return result;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (): Rule[] =>
  (parse(readFileSync(ALERTS_PATH, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap(
    (g) => g.rules,
  );

describe('Prometheus alert rules', () => {
  it('promtool check rules accepts alerts.yml', () => {
    const result = promtool('check', 'rules', 'alerts.yml');
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: \d+ rules found/);
  });

  it('promtool test rules passes alerts.test.yml (fires where it must, stays quiet where it must)', () => {
    const result = promtool('test', 'rules', 'alerts.test.yml');
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });

  it('every promised alert exists, with a for:, a severity and a summary naming its object', () => {
    const byName = new Map(rules().map((r) => [r.alert, r]));
    const promised: Record<string, string[]> = {
      PaddockClusterProvisioningTooLong: ['project', 'cluster'],
      PaddockNodeProvisioningTooLong: ['project', 'cluster', 'node'],
      PaddockClusterConditionNotTrue: ['project', 'cluster', 'condition'],
      PaddockClusterUpdatingTooLong: ['project', 'cluster'],
      PaddockClusterComponentUnhealthy: ['project', 'cluster', 'condition'],
      PaddockNodeNotReady: ['project', 'cluster', 'node'],
      PaddockNodeConditionNotTrue: ['project', 'cluster', 'node', 'condition'],
      PaddockBackendUnhealthy: ['backend'],
      PaddockSyncStale: ['backend'],
      PaddockQuotaNearlyExhausted: ['project', 'resource'],
      PaddockOperationsStuck: ['type'],
      PaddockOperationsFailing: ['type'],
      PaddockBackupMissing: ['project', 'cluster'],
      PaddockAddonNotReady: ['project', 'cluster', 'addon'],
      PaddockAddonFailed: ['addon', 'version'],
    };
    assert.deepEqual([...byName.keys()].sort(), Object.keys(promised).sort());
    for (const [name, labels] of Object.entries(promised)) {
      const rule = byName.get(name)!;
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${name} has a for:`);
      assert.ok(['warning', 'critical'].includes(rule.labels?.severity ?? ''), `${name} has a severity`);
      for (const label of labels) {
        assert.ok(
          rule.annotations?.summary?.includes(`$labels.${label}`),
          `${name}'s summary names its ${label}`,
        );
      }
    }
  });

  it('the PrometheusRule in the manifests is generated from alerts.yml and up to date', () => {
    assert.equal(
      readFileSync(PROMETHEUS_RULE_PATH, 'utf8'),
      renderPrometheusRule(readFileSync(ALERTS_PATH, 'utf8')),
      'run `npm run deploy:rules` and commit the result',
    );
  });
});
