/**
 * The Grafana dashboard: valid JSON with the sections an SRE looks for, every panel on the
 * dashboard's Prometheus variable, and every query valid PromQL — checked by promtool, which
 * parses the queries when they are put into a rule file (Grafana's own variables replaced by
 * values of the same kind). That each metric a query names is exported is checked against a
 * running Paddock in test/e2e/monitoring.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { DASHBOARD_PATH, dashboardQueries } from '../support/deploy';

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: Array<{ expr: string }>;
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as {
    uid: string;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string }> };
  };

  it('has the sections and variables an SRE looks for', () => {
    assert.equal(dashboard.uid, 'paddock');
    assert.deepEqual(
      dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title),
      ['Fleet health', 'Provisioning', 'Operations', 'Quotas', 'Backends'],
    );
    assert.deepEqual(
      dashboard.templating.list.map((v) => `${v.name}:${v.type}`),
      ['datasource:datasource', 'project:query'],
    );
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.equal(panel.datasource?.uid, '${datasource}', `${panel.title} uses the datasource variable`);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
    }
  });

  it('every query is valid PromQL (promtool check rules)', () => {
    const queries = dashboardQueries().map((q) =>
      q.replaceAll('$__rate_interval', '5m').replaceAll('$project', '.*'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'paddock-dashboard-'));
    try {
      const file = join(dir, 'queries.yml');
      writeFileSync(
        file,
        stringify({
          groups: [
            {
              name: 'dashboard',
              rules: queries.map((expr, i) => ({ record: `dashboard:query_${i}`, expr })),
            },
          ],
        }),
      );
      const result = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 60_000 });
      if (result.error)
        assert.fail(`promtool could not run (apt-get install -y prometheus): ${result.error.message}`);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      assert.match(result.stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
