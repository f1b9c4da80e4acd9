import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs, retryDelayMs } from './backoff';

describe('step retry backoff', () => {
  it('doubles the ceiling per attempt, half of it fixed', () => {
    assert.equal(
      backoffMs(1, () => 0),
      BACKOFF_BASE_MS / 2,
    );
    assert.equal(
      backoffMs(1, () => 1),
      BACKOFF_BASE_MS,
    );
    assert.equal(
      backoffMs(2, () => 1),
      BACKOFF_BASE_MS * 2,
    );
    assert.equal(
      backoffMs(3, () => 0),
      BACKOFF_BASE_MS * 2,
    );
  });

  it('never exceeds the cap, however many attempts', () => {
    assert.equal(
      backoffMs(50, () => 1),
      BACKOFF_CAP_MS,
    );
    assert.equal(
      backoffMs(50, () => 0),
      BACKOFF_CAP_MS / 2,
    );
  });

  it('treats attempt 0 (and below) as the first', () => {
    assert.equal(
      backoffMs(0, () => 1),
      BACKOFF_BASE_MS,
    );
    assert.equal(
      backoffMs(-3, () => 1),
      BACKOFF_BASE_MS,
    );
  });

  it('waits at least as long as the backend asked (Retry-After)', () => {
    assert.equal(
      retryDelayMs(1, 20_000, () => 1),
      20_000,
    );
    assert.equal(
      retryDelayMs(5, 100, () => 1),
      8_000,
    );
    assert.equal(
      retryDelayMs(1, undefined, () => 0),
      BACKOFF_BASE_MS / 2,
    );
  });
});
