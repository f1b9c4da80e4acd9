/**
 * Reading Rancher collections page by page through a `RancherClient`: norman `/v3` collections
 * follow `pagination.next`, steve `/v1` collections follow `continue`.
 */

import type { CallSite } from './backend.errors';
import type { RancherClient } from './rancher-client';
import type { QueryValue } from './rancher-call.types';
import { fillRoute } from './rancher-paths';
import { isCollection } from './wire/v3.types';

/** How a collection names its next page. */
interface Cursor {
  /** The query parameter that asks for the next page. */
  param: 'marker' | 'continue';
  /** The next page's token; null after the last page; undefined when a next page is named unusably. */
  next(collection: Record<string, unknown>): string | null | undefined;
  /** What the error says when the token is missing or comes back a second time. */
  stuck: string;
}

/**
 * norman `/v3`: `pagination.next` is the server's own absolute URL, which may name a host we
 * cannot reach (server-url behind a proxy); only its marker matters, so the next page is
 * requested through our base URL.
 */
const V3_CURSOR: Cursor = {
  param: 'marker',
  next: (collection) => {
    const next = (collection.pagination as { next?: string } | undefined)?.next;
    return next ? markerOf(next) : null;
  },
  stuck: 'pagination.next does not advance (missing or repeated marker)',
};

/** steve `/v1`: `continue` until it is empty (rancher-api.md §9.1). */
const STEVE_CURSOR: Cursor = {
  param: 'continue',
  next: (collection) =>
    typeof collection.continue === 'string' && collection.continue !== '' ? collection.continue : null,
  stuck: 'continue does not advance (repeated token)',
};

/**
 * A collection page by page, following its cursor until the last page. The number of calls
 * grows with the number of pages, never with the number of items, and only one page is held at
 * a time: a consumer that writes each page away keeps its memory flat whatever the size.
 */
async function* pages<T>(
  cursor: Cursor,
  client: RancherClient,
  pageSize: number,
  route: string,
  query: Record<string, QueryValue>,
  params?: Record<string, string>,
): AsyncGenerator<T[]> {
  const site: CallSite = { backend: client.backend, method: 'GET', path: fillRoute(route, params), route };
  const seen = new Set<string>();
  let token: string | undefined;
  for (;;) {
    const res = await client.request<unknown>({
      method: 'GET',
      route,
      params,
      query: { ...query, limit: pageSize, [cursor.param]: token },
    });
    if (!isCollection(res.data)) throw client.unexpected(site, 'expected a collection');
    const next = cursor.next(res.data as unknown as Record<string, unknown>);
    yield res.data.data as T[];
    if (next === null) return;
    if (next === undefined || seen.has(next)) throw client.unexpected(site, cursor.stuck);
    seen.add(next);
    token = next;
  }
}

/** A norman `/v3` collection page by page (`pagination.next`). */
export const v3Pages = <T>(
  client: RancherClient,
  pageSize: number,
  route: string,
  query: Record<string, QueryValue> = {},
  params?: Record<string, string>,
): AsyncGenerator<T[]> => pages<T>(V3_CURSOR, client, pageSize, route, query, params);

/** A steve `/v1` collection page by page (`continue`). */
export const stevePages = <T>(
  client: RancherClient,
  pageSize: number,
  route: string,
  query: Record<string, QueryValue> = {},
  params?: Record<string, string>,
): AsyncGenerator<T[]> => pages<T>(STEVE_CURSOR, client, pageSize, route, query, params);

function markerOf(next: string): string | undefined {
  try {
    return new URL(next, 'http://placeholder.invalid').searchParams.get('marker') ?? undefined;
  } catch {
    return undefined;
  }
}
