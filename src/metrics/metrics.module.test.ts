import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { exposition, scraped } from './metrics.module';

describe('scraped metrics', () => {
  it('are written after the registry’s own, escaped as the text format wants, and only while they have samples', async () => {
    const registry = new Registry();
    new Gauge({ name: 'plain', help: 'a prom-client gauge', registers: [registry] }).set(3);
    let samples = [{ value: 1, labels: { node: 'a"b\\c\nd', le: Infinity } }];
    scraped(registry, {
      name: 'odd',
      help: 'line one\nline two',
      type: 'gauge',
      collect: async () => samples,
    });
    const text = await exposition(registry);
    assert.match(text, /^# HELP plain a prom-client gauge\n# TYPE plain gauge\nplain 3\n/);
    assert.ok(
      text.includes(
        '# HELP odd line one\\nline two\n# TYPE odd gauge\nodd{node="a\\"b\\\\c\\nd",le="+Inf"} 1\n',
      ),
      text,
    );
    samples = [];
    assert.ok(!(await exposition(registry)).includes('odd{'), 'no sample, no series');
  });

  it('registers a name once per registry', async () => {
    const registry = new Registry();
    scraped(registry, {
      name: 'once',
      help: 'first',
      type: 'gauge',
      collect: async () => [{ value: 1, labels: {} }],
    });
    scraped(registry, {
      name: 'once',
      help: 'second',
      type: 'gauge',
      collect: async () => [{ value: 2, labels: {} }],
    });
    const text = await exposition(registry);
    assert.equal(text.match(/^once /gm)?.length, 1);
    assert.match(text, /^once 1$/m);
  });
});
