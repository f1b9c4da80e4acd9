/**
 * `?watch=true`: a chunked JSON stream of `{"type":…,"object":…}` lines. Without a
 * resourceVersion (or with "0") it starts with an ADDED per existing object; with one it replays
 * the history after it (410 Expired as an ERROR event when that is too old). It ends after
 * `timeoutSeconds`, at the simulator's bound (`kubeStreamMaxMs`) at the latest, or when the
 * cluster is deleted. Derived resources (nodes, pods) send their current objects and then only
 * the end of the stream.
 */
import type { ServerResponse } from 'node:http';
import type { SimResponse } from '../http';
import { parseSelectors, type Selector } from './list';
import type { KubeContext, ResourceDef } from './resources';
import { badRequest, expired } from './status';
import type { ChangeEvent, EventType, KubeObject } from './store';

export function isWatch(query: URLSearchParams): boolean {
  const value = query.get('watch');
  return value === 'true' || value === '1';
}

export function watchResponse(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  query: URLSearchParams,
  render: (object: KubeObject, first: boolean) => unknown,
  name?: string,
): SimResponse {
  const selector = parseSelectors(query);
  const matches: Selector = (object) =>
    (namespace === undefined || object.metadata.namespace === namespace) &&
    (name === undefined || object.metadata.name === name) &&
    selector(object);
  const from = query.get('resourceVersion') ?? '';
  if (from !== '' && !/^\d+$/.test(from)) throw badRequest(`resourceVersion: Invalid value: "${from}"`);
  const timeout = query.get('timeoutSeconds');
  if (timeout !== null && !/^\d+$/.test(timeout)) {
    throw badRequest(`timeoutSeconds: Invalid value: "${timeout}": must be a non-negative integer`);
  }
  const maxMs = ctx.world.timings.kubeStreamMaxMs;
  const durationMs = timeout === null || timeout === '0' ? maxMs : Math.min(Number(timeout) * 1000, maxMs);
  return {
    status: 200,
    body: null,
    stream: (res) => stream(ctx, def, res, matches, render, from, durationMs),
  };
}

function stream(
  ctx: KubeContext,
  def: ResourceDef,
  res: ServerResponse,
  matches: Selector,
  render: (object: KubeObject, first: boolean) => unknown,
  from: string,
  durationMs: number,
): void {
  res.flushHeaders();
  let first = true;
  const write = (type: EventType | 'ERROR', object: unknown) => {
    if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const send = (type: EventType, object: KubeObject) => {
    write(type, render(object, first));
    first = false;
  };
  let unsubscribe = () => {};
  const timer = setTimeout(() => end(), durationMs);
  const end = () => {
    clearTimeout(timer);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  res.once('close', end);

  if (from === '' || from === '0') {
    for (const object of def.items(ctx).filter(matches)) send('ADDED', object);
  } else if (def.stored) {
    const history = ctx.objects.eventsAfter(Number(from));
    if (!history) {
      const oldest = ctx.objects.oldestResumableVersion;
      write('ERROR', expired(`too old resource version: ${from} (${oldest})`).toStatus());
      end();
      return;
    }
    for (const event of history) if (event.resource === def.name) forward(event, matches, send);
  }
  if (def.stored) {
    unsubscribe = ctx.objects.subscribe((event) => {
      if (event === null) end();
      else if (event.resource === def.name) forward(event, matches, send);
    });
  }
}

/**
 * One stored change as the watch sees it through its selectors: an object moving into the
 * selection is ADDED, one moving out is DELETED (as the apiserver's watch cache reports it).
 */
function forward(
  event: ChangeEvent,
  matches: Selector,
  send: (type: EventType, object: KubeObject) => void,
): void {
  const now = matches(event.object);
  const before = event.previous !== undefined && matches(event.previous);
  switch (event.type) {
    case 'ADDED':
      if (now) send('ADDED', event.object);
      break;
    case 'DELETED':
      if (now) send('DELETED', event.object);
      break;
    case 'MODIFIED':
      if (now) send(before ? 'MODIFIED' : 'ADDED', event.object);
      else if (before) send('DELETED', event.object);
      break;
  }
}
