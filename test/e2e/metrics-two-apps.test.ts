/**
 * Two Paddock deployments in one process (as every test file with two `startPaddock` has): each
 * `/metrics` shows its own deployment, and once the first is closed the second still answers 200
 * with its metrics computed from its own database (the first's collectors used to stay behind in
 * a process-wide registry and fail the scrape with "Driver not Connected").
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPaddock, TestPaddock } from '../support/paddock';
import { startTestSimulator, TestSimulator } from '../support/simulator';

describe('/metrics with two applications in one process', () => {
  let first: TestPaddock | undefined;
  let second: TestPaddock;
  let sim: TestSimulator;

  const scrape = async (paddock: TestPaddock) => {
    const res = await fetch(`${paddock.url}/metrics`);
    return { status: res.status, text: await res.text() };
  };

  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [{ name: 'm1.large' }] });
    first = await startPaddock();
    second = await startPaddock();
    assert.equal((await first.registerBackend('only-first', sim)).status, 201);
    assert.equal((await second.registerBackend('only-second', sim)).status, 201);
  });

  after(async () => {
    await first?.close();
    await second?.close();
    await sim?.close();
  });

  it('each deployment scrapes its own backends while both run', async () => {
    const a = await scrape(first!);
    const b = await scrape(second);
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.match(a.text, /backend="only-first"/);
    assert.doesNotMatch(a.text, /backend="only-second"/);
    assert.match(b.text, /backend="only-second"/);
    assert.doesNotMatch(b.text, /backend="only-first"/);
    assert.equal(
      b.text.match(/^# TYPE paddock_process_cpu_seconds_total /gm)?.length,
      1,
      'process metrics once',
    );
  });

  it('closing the first leaves the second answering 200 from its own database', async () => {
    await first!.close();
    first = undefined;
    for (let i = 0; i < 3; i++) {
      const b = await scrape(second);
      assert.equal(b.status, 200, b.text);
      assert.match(b.text, /backend="only-second"/);
      assert.match(b.text, /^# TYPE paddock_http_request_duration_seconds histogram$/m);
    }
  });
});
