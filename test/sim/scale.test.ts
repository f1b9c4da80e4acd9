/** Scale: 10,000 clusters / 50,000 nodes in memory; a 1,000-item page must stay fast (§10 sizing). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestSimulator, type TestSimulator } from '../support/simulator';
import { TEMPLATE } from './fixtures';

interface PageTiming {
  /** Until the response headers arrive: the server's work (filter, page, render, serialize). */
  headersMs: number;
  /** Until the body is read and parsed by the client: what a caller waits for. */
  totalMs: number;
  bytes: number;
  body: any;
}

describe('scale', () => {
  let sim: TestSimulator;
  before(async () => {
    sim = await startTestSimulator({ nodeTemplates: [TEMPLATE] });
  });
  after(() => sim.close());

  async function timedGet(path: string): Promise<PageTiming> {
    const started = performance.now();
    const response = await fetch(`${sim.url}${path}`, { headers: { Authorization: `Bearer ${sim.token}` } });
    const headersMs = performance.now() - started;
    const text = await response.text();
    const body = JSON.parse(text);
    assert.equal(response.status, 200);
    return { headersMs, totalMs: performance.now() - started, bytes: text.length, body };
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  it('serves 1,000-item pages of 10,000 clusters quickly', async () => {
    const seedStarted = performance.now();
    const seeded = await sim.seed({ clusters: 10_000, poolsPerCluster: 1, nodesPerPool: 5 });
    const seedMs = performance.now() - seedStarted;
    assert.equal(seeded.clusterIds.length, 10_000);
    assert.equal(seeded.nodes, 50_000);

    // The first list after the seed re-sorts the id index once.
    const first = await timedGet('/v3/clusters?limit=1000');
    assert.equal(first.body.pagination.total, 10_000);
    const pages: PageTiming[] = [];
    let next: string | undefined = first.body.pagination.next;
    while (next) {
      const page = await timedGet(next.slice(sim.url.length));
      assert.equal(page.body.data.length, 1000);
      assert.equal(page.body.data[0].nodeCount, 5);
      pages.push(page);
      next = page.body.pagination.next;
    }
    assert.equal(pages.length, 9);
    const filtered = await timedGet(`/v3/nodes?clusterId=${seeded.clusterIds[1234]}`);
    assert.equal(filtered.body.data.length, 5);

    const headers = median(pages.map((p) => p.headersMs));
    const total = median(pages.map((p) => p.totalMs));
    console.log(
      `scale: seeded 10,000 clusters / 50,000 nodes in ${seedMs.toFixed(0)} ms. ` +
        `GET /v3/clusters?limit=1000 (${(pages[0].bytes / 1e6).toFixed(1)} MB): first page ${first.totalMs.toFixed(1)} ms, ` +
        `then median ${headers.toFixed(1)} ms to headers, ${total.toFixed(1)} ms incl. reading and parsing ` +
        `(max ${Math.max(...pages.map((p) => p.totalMs)).toFixed(1)} ms); ` +
        `GET /v3/nodes?clusterId= among 50,000 nodes: ${filtered.totalMs.toFixed(1)} ms`,
    );
    assert.ok(total < 500, `median page time ${total} ms`);
  });
});
