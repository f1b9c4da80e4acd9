/** Unit tests for the pure pieces: condition summary (§2.1), hostnames (§4.2), merge (§2.9), Basic decoding (§1.2). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeGoUrlBase64 } from '../../sim/auth';
import { deepMerge, mergeProtectedMap } from '../../sim/merge';
import { firstFreeHostname, naturalCompare, parsePrefix } from '../../sim/naming';
import { summarize, type Condition } from '../../sim/state';

const c = (type: string, status: Condition['status'], message = ''): Condition => ({ type, status, message });

describe('summarize (state from conditions)', () => {
  it('is active with no conditions and with only True ones', () => {
    assert.deepEqual(summarize([]), { state: 'active', transitioning: 'no', transitioningMessage: '' });
    assert.deepEqual(summarize([c('Provisioned', 'True'), c('Ready', 'True')]), {
      state: 'active',
      transitioning: 'no',
      transitioningMessage: '',
    });
  });

  it('lets the first Unknown win and reports its message', () => {
    const summary = summarize([
      c('Pending', 'True'),
      c('Provisioned', 'Unknown', 'waiting for nodes'),
      c('Waiting', 'Unknown', 'Waiting for API'),
    ]);
    assert.deepEqual(summary, {
      state: 'provisioning',
      transitioning: 'yes',
      transitioningMessage: 'waiting for nodes',
    });
  });

  it('turns a False into the same phase with transitioning error, last False winning', () => {
    assert.deepEqual(summarize([c('Provisioned', 'False', 'rke up failed'), c('Waiting', 'Unknown', 'w')]), {
      state: 'provisioning',
      transitioning: 'error',
      transitioningMessage: 'rke up failed',
    });
    assert.deepEqual(summarize([c('Provisioned', 'False', 'a'), c('Updated', 'False', 'b')]), {
      state: 'updating',
      transitioning: 'error',
      transitioningMessage: 'a; b',
    });
    // A False after an Unknown still takes the state; both messages are kept.
    assert.deepEqual(summarize([c('Provisioned', 'Unknown', 'x'), c('Updated', 'False', 'y')]), {
      state: 'updating',
      transitioning: 'error',
      transitioningMessage: 'x; y',
    });
  });

  it('maps Ready=False to unavailable and Ready=Unknown to an unavailable error', () => {
    assert.deepEqual(
      summarize([c('Provisioned', 'True'), c('Ready', 'False', 'Cluster agent is not connected')]),
      {
        state: 'unavailable',
        transitioning: 'yes',
        transitioningMessage: 'Cluster agent is not connected',
      },
    );
    assert.equal(summarize([c('Ready', 'Unknown')]).transitioning, 'error');
  });

  it('gives Unknown-table phases priority over Ready', () => {
    assert.equal(summarize([c('Ready', 'False'), c('Updated', 'Unknown')]).state, 'updating');
  });

  it('maps Completed False to activating and deletion to removing', () => {
    assert.deepEqual(summarize([c('Completed', 'False')]), {
      state: 'activating',
      transitioning: 'yes',
      transitioningMessage: '',
    });
    assert.equal(summarize([c('Provisioned', 'False', 'boom')], true).state, 'removing');
    assert.equal(summarize([], true).transitioning, 'yes');
  });

  it('ignores condition types outside the tables', () => {
    assert.equal(summarize([c('InitialRolesPopulated', 'Unknown'), c('Connected', 'False')]).state, 'active');
  });
});

describe('hostname rules of the pool controller', () => {
  it('parses numeric suffixes into start and padding', () => {
    assert.deepEqual(parsePrefix('web-'), { base: 'web-', start: 1, width: 1 });
    assert.deepEqual(parsePrefix('web-01'), { base: 'web-', start: 1, width: 2 });
    assert.deepEqual(parsePrefix('web-10'), { base: 'web-', start: 10, width: 2 });
  });

  it('picks the first free name, reusing gaps', () => {
    assert.equal(firstFreeHostname('web-', new Set()), 'web-1');
    assert.equal(firstFreeHostname('web-', new Set(['web-1', 'web-3'])), 'web-2');
    assert.equal(firstFreeHostname('web-01', new Set(['web-01'])), 'web-02');
    assert.equal(firstFreeHostname('db7', new Set(['db7', 'db8'])), 'db9');
  });

  it('sorts naturally', () => {
    const names = ['web-10', 'web-9', 'web-1', 'web-100', 'web-2'];
    assert.deepEqual([...names].sort(naturalCompare), ['web-1', 'web-2', 'web-9', 'web-10', 'web-100']);
  });
});

describe('merge semantics', () => {
  it('merges nested objects, replaces arrays and named maps, clears on null', () => {
    const current = { a: { b: 1, c: { d: 2, e: 3 } }, list: [1, 2], extraArgs: { x: '1', y: '2' }, gone: 1 };
    const merged = deepMerge(
      current,
      { a: { c: { d: 9 } }, list: [3], extraArgs: { z: '3' }, gone: null },
      new Set(['extraArgs']),
    );
    assert.deepEqual(merged, { a: { b: 1, c: { d: 9, e: 3 } }, list: [3], extraArgs: { z: '3' } });
  });

  it('protects cattle.io keys and keeps omitted field.cattle.io keys', () => {
    const current = { team: 'a', old: 'x', 'cattle.io/creator': 'norman', 'field.cattle.io/projectId': 'p1' };
    const merged = mergeProtectedMap(current, {
      team: 'b',
      'cattle.io/creator': 'me',
      'management.cattle.io/new': 'v',
      'field.cattle.io/other': 'o',
    });
    assert.deepEqual(merged, {
      team: 'b',
      'cattle.io/creator': 'norman',
      'field.cattle.io/projectId': 'p1',
      'field.cattle.io/other': 'o',
    });
    assert.equal(mergeProtectedMap(current, undefined), current);
  });
});

describe('Go URL-safe base64', () => {
  it('accepts URL-safe padded values and rejects the standard alphabet', () => {
    assert.equal(decodeGoUrlBase64('YWI6Yw=='), 'ab:c');
    assert.equal(decodeGoUrlBase64('Pz8-Pw=='), '??>?');
    // Go's URLEncoding requires padding and rejects '+' and '/'.
    assert.equal(decodeGoUrlBase64('YWI6Yw'), undefined);
    assert.equal(decodeGoUrlBase64('Pz8+Pw=='), undefined);
    assert.equal(decodeGoUrlBase64('Pz8/Pw=='), undefined);
  });
});
