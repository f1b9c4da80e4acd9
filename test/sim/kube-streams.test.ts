/** Watches (chunked JSON events) and exec over WebSocket on the simulated Kubernetes API. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { startTestSimulator, waitFor, type TestSimulator } from '../support/simulator';
import { createActiveCluster, QUICK, TEMPLATE } from './fixtures';

interface WatchEvent {
  type: string;
  object: any;
}

describe('cluster Kubernetes API streams', () => {
  let sim: TestSimulator;
  let base: string;

  before(async () => {
    sim = await startTestSimulator({
      timings: { ...QUICK, kubeStreamMaxMs: 1_500 },
      nodeTemplates: [TEMPLATE],
    });
    const { cluster } = await createActiveCluster(sim, 'streams', 1);
    base = `${sim.url}/k8s/clusters/${cluster.id}`;
  });
  after(() => sim.close());

  const auth = () => ({ Authorization: `Bearer ${sim.token}` });
  const write = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as any;
  };

  /** Opens a watch and collects its events until the server ends the stream (or `stopAfter`). */
  function watch(path: string, stopAfter?: number) {
    const events: WatchEvent[] = [];
    const controller = new AbortController();
    const done = (async () => {
      const response = await fetch(`${base}${path}`, { headers: auth(), signal: controller.signal });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'application/json');
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buffered.slice(0, newline)));
            buffered = buffered.slice(newline + 1);
            if (stopAfter !== undefined && events.length >= stopAfter) controller.abort();
          }
        }
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      return events;
    })();
    return { events, done };
  }

  describe('watch', () => {
    it('streams ADDED, MODIFIED and DELETED from a list resourceVersion, one JSON object per line', async () => {
      const list = await write('GET', '/api/v1/namespaces/default/configmaps');
      const stream = watch(
        `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion}`,
        3,
      );
      const created = await write('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 'w1' },
        data: { a: '1' },
      });
      await write('PUT', '/api/v1/namespaces/default/configmaps/w1', { ...created, data: { a: '2' } });
      // A configmap in another namespace is not part of this watch.
      await write('POST', '/api/v1/namespaces/kube-system/configmaps', { metadata: { name: 'other' } });
      await write('DELETE', '/api/v1/namespaces/default/configmaps/w1');
      const events = await stream.done;
      assert.deepEqual(
        events.map((e) => [e.type, e.object.kind, e.object.metadata.name]),
        [
          ['ADDED', 'ConfigMap', 'w1'],
          ['MODIFIED', 'ConfigMap', 'w1'],
          ['DELETED', 'ConfigMap', 'w1'],
        ],
      );
      const versions = events.map((e) => Number(e.object.metadata.resourceVersion));
      assert.ok(versions[0] < versions[1] && versions[1] < versions[2]);
      assert.equal(events[1].object.data.a, '2');
    });

    it('replays what happened after an older resourceVersion', async () => {
      const list = await write('GET', '/api/v1/namespaces/default/configmaps');
      await write('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'early' } });
      const events = await watch(
        `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}`,
        1,
      ).done;
      assert.deepEqual(
        events.map((e) => [e.type, e.object.metadata.name]),
        [['ADDED', 'early']],
      );
    });

    it('starts with ADDED for every existing object when no resourceVersion is given', async () => {
      const events = await watch('/api/v1/namespaces?watch=true&timeoutSeconds=1').done;
      assert.deepEqual(
        events.map((e) => e.object.metadata.name),
        ['default', 'kube-node-lease', 'kube-public', 'kube-system'],
      );
      assert.ok(events.every((e) => e.type === 'ADDED'));
    });

    it('honours timeoutSeconds and ends a watch without one at the server bound', async () => {
      let started = Date.now();
      await watch('/api/v1/configmaps?watch=true&resourceVersion=1000000&timeoutSeconds=1').done;
      const timed = Date.now() - started;
      assert.ok(timed >= 900 && timed < 1_400, `timeoutSeconds=1 took ${timed} ms`);
      started = Date.now();
      // kubeStreamMaxMs is 1,500 here; without timeoutSeconds the server still ends the stream.
      await watch('/api/v1/configmaps?watch=true&resourceVersion=1000000').done;
      const bounded = Date.now() - started;
      assert.ok(bounded >= 1_400 && bounded < 3_000, `unbounded watch took ${bounded} ms`);
    });

    it('reports selector moves as ADDED / DELETED and narrows by field selector', async () => {
      const list = await write('GET', '/api/v1/namespaces/default/configmaps');
      const stream = watch(
        `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=tier%3Dfront&resourceVersion=${list.metadata.resourceVersion}`,
        2,
      );
      const cm = await write('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'sel' } });
      const labelled = await write('PUT', '/api/v1/namespaces/default/configmaps/sel', {
        ...cm,
        metadata: { ...cm.metadata, labels: { tier: 'front' } },
      });
      await write('PUT', '/api/v1/namespaces/default/configmaps/sel', {
        ...labelled,
        metadata: { ...labelled.metadata, labels: { tier: 'back' } },
      });
      assert.deepEqual(
        (await stream.done).map((e) => e.type),
        ['ADDED', 'DELETED'],
      );
    });

    it('sends one-row Tables when asked for Tables, column definitions in the first event only', async () => {
      const list = await write('GET', '/api/v1/namespaces/default/configmaps');
      const response = await fetch(
        `${base}/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${list.metadata.resourceVersion}`,
        { headers: { ...auth(), Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' } },
      );
      await write('POST', '/api/v1/namespaces/default/configmaps', {
        metadata: { name: 't1' },
        data: { k: 'v' },
      });
      await write('DELETE', '/api/v1/namespaces/default/configmaps/t1');
      const events = (await response.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as WatchEvent);
      assert.deepEqual(
        events.map((e) => [e.type, e.object.kind, e.object.rows[0].cells[0], e.object.rows[0].cells[1]]),
        [
          ['ADDED', 'Table', 't1', 1],
          ['DELETED', 'Table', 't1', 1],
        ],
      );
      assert.equal(events[0].object.columnDefinitions.length, 3);
      assert.equal(events[1].object.columnDefinitions, undefined);
    });

    it('answers a too old resourceVersion with an ERROR event carrying 410 Expired', async () => {
      // Fill the history past its bound so that version 1 is no longer resumable.
      for (let batch = 0; batch < 56; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            write('POST', '/api/v1/namespaces/default/configmaps', { metadata: { generateName: 'fill-' } }),
          ),
        );
      }
      const events = await watch('/api/v1/configmaps?watch=true&resourceVersion=1').done;
      assert.equal(events.length, 1);
      assert.equal(events[0].type, 'ERROR');
      assert.equal(events[0].object.kind, 'Status');
      assert.equal(events[0].object.code, 410);
      assert.equal(events[0].object.reason, 'Expired');
      assert.match(events[0].object.message, /^too old resource version: 1 \(\d+\)$/);
    });

    it('ends open watches when the cluster is deleted', async () => {
      const { cluster } = await createActiveCluster(sim, 'short-lived', 1);
      const url = `${sim.url}/k8s/clusters/${cluster.id}/api/v1/configmaps?watch=true&resourceVersion=1000000`;
      const started = Date.now();
      const response = await fetch(url, { headers: auth() });
      assert.equal(response.status, 200);
      await sim.rancher('DELETE', `/v3/clusters/${cluster.id}`);
      await response.text();
      assert.ok(Date.now() - started < 1_400, 'the watch ended before its bound');
    });
  });

  describe('exec', () => {
    const execUrl = (query: string, pod = 'echo', namespace = 'default') =>
      `${base.replace(/^http/, 'ws')}/api/v1/namespaces/${namespace}/pods/${pod}/exec?${query}`;

    /** Runs one exec session; resolves with the frames received (stream byte, text) once closed. */
    function exec(query: string, protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'], stdin?: string) {
      return new Promise<{ protocol: string; frames: Array<[number, string]>; closeCode: number }>(
        (resolve, reject) => {
          const ws = new WebSocket(execUrl(query), protocols, { headers: auth() });
          const frames: Array<[number, string]> = [];
          ws.on('open', () => {
            if (stdin === undefined) return;
            ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
            ws.send(Buffer.from([255, 0]));
          });
          ws.on('message', (data: Buffer) => frames.push([data[0], data.subarray(1).toString()]));
          ws.on('close', (code) => resolve({ protocol: ws.protocol, frames, closeCode: code }));
          ws.on('error', reject);
        },
      );
    }

    it('echoes the command arguments on stdout, then a Success status on channel 3 (v5)', async () => {
      const result = await exec('command=echo&command=hello&stdout=true&stderr=true');
      assert.equal(result.protocol, 'v5.channel.k8s.io');
      assert.deepEqual(result.frames, [
        [1, 'hello\n'],
        [3, '{"metadata":{},"status":"Success"}'],
      ]);
      assert.equal(result.closeCode, 1000);
    });

    it('speaks v4.channel.k8s.io when that is all the client offers', async () => {
      const result = await exec('command=echo&command=v4&stdout=1', ['v4.channel.k8s.io']);
      assert.equal(result.protocol, 'v4.channel.k8s.io');
      assert.deepEqual(result.frames[0], [1, 'v4\n']);
    });

    it('copies stdin back to stdout with cat until stdin closes', async () => {
      const result = await exec('command=cat&stdin=true&stdout=true', undefined, 'some input\n');
      assert.deepEqual(result.frames, [
        [1, 'some input\n'],
        [3, '{"metadata":{},"status":"Success"}'],
      ]);
    });

    it('reports an exit code with NonZeroExitCode', async () => {
      const result = await exec('command=false&stdout=true');
      const status = JSON.parse(result.frames.at(-1)![1]);
      assert.equal(result.frames.at(-1)![0], 3);
      assert.equal(status.reason, 'NonZeroExitCode');
      assert.deepEqual(status.details.causes, [{ reason: 'ExitCode', message: '1' }]);
    });

    it('refuses a plain request, an unknown pod or container, and missing streams with Status errors', async () => {
      const plain = await fetch(`${base}/api/v1/namespaces/default/pods/echo/exec?command=echo&stdout=true`, {
        method: 'POST',
        headers: auth(),
      });
      assert.equal(plain.status, 400);
      assert.equal(((await plain.json()) as any).message, 'Upgrade request required');
      for (const [url, status] of [
        [execUrl('command=echo&stdout=true', 'nope'), 404],
        [execUrl('command=echo&stdout=true', 'echo', 'nope'), 404],
        [execUrl('command=echo&stdout=true&container=other'), 400],
        [execUrl('command=echo'), 400],
      ] as const) {
        const refused = await new Promise<number>((resolve) => {
          const ws = new WebSocket(url, ['v5.channel.k8s.io'], { headers: auth() });
          ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.on('open', () => resolve(101));
          ws.on('error', () => undefined);
        });
        assert.equal(refused, status, url);
      }
    });

    it('answers 401 on an upgrade without a valid token, and logs and faults exec calls', async () => {
      const unauthorized = await new Promise<number>((resolve) => {
        const ws = new WebSocket(execUrl('command=echo&stdout=true'), ['v5.channel.k8s.io']);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
      assert.equal(unauthorized, 401);
      await sim.clearCalls();
      await sim.faults.add({ path: '/pods/echo/exec$', status: 503, times: 1 });
      const faulted = await new Promise<number>((resolve) => {
        const ws = new WebSocket(execUrl('command=echo&stdout=true'), ['v5.channel.k8s.io'], {
          headers: auth(),
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
      assert.equal(faulted, 503);
      await exec('command=echo&command=x&stdout=true');
      await waitFor(async () => (await sim.calls()).length === 2);
      assert.deepEqual(
        (await sim.calls()).map((call) => call.status),
        [503, 101],
      );
    });

    it('closes an exec session at the server bound', async () => {
      const started = Date.now();
      const ws = new WebSocket(execUrl('command=cat&stdin=true&stdout=true'), ['v5.channel.k8s.io'], {
        headers: auth(),
      });
      const frames: string[] = [];
      ws.on('message', (data: Buffer) => frames.push(data.subarray(1).toString()));
      await new Promise((resolve) => ws.on('close', resolve));
      assert.ok(Date.now() - started >= 1_400);
      assert.equal(JSON.parse(frames.at(-1)!).reason, 'Timeout');
    });
  });
});
