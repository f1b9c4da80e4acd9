/**
 * Reading Rancher collections page by page through a `RancherClient`: norman `/v3` collections
 * follow `pagination.next`, steve `/v1` collections follow `continue`.
 */

import type { CallSite } from './backend.errors';
import type { RancherClient } from './rancher-client';
import type { QueryValue } from './rancher-call.types';
import { fillRoute } from './rancher-paths';
import { isCollection } from './wire/v3.types';

/**
 * A v3 collection page by page, following `pagination.next` until it is absent. The number of
 * calls grows with the number of pages, never with the number of items, and only one page is
 * held at a time: a consumer that writes each page away keeps its memory flat whatever the size.
 */
export async function* v3Pages<T>(
  client: RancherClient,
  pageSize: number,
  route: string,
  query: Record<string, QueryValue> = {},
  params?: Record<string, string>,
): AsyncGenerator<T[]> {
  const site: CallSite = { backend: client.backend, method: 'GET', path: fillRoute(route, params), route };
  const seenMarkers = new Set<string>();
  let marker: string | undefined;
  for (;;) {
    const res = await client.request<unknown>({
      method: 'GET',
      route,
      params,
      query: { ...query, limit: pageSize, marker },
    });
    if (!isCollection(res.data)) throw client.unexpected(site, 'expected a collection');
    const next = res.data.pagination?.next;
    yield res.data.data as T[];
    if (!next) return;
    // `next` is the server's own absolute URL, which may name a host we cannot reach (server-url
    // behind a proxy); only its marker matters, so the next page is requested through our base URL.
    const nextMarker = markerOf(next);
    if (!nextMarker || seenMarkers.has(nextMarker)) {
      throw client.unexpected(site, 'pagination.next does not advance (missing or repeated marker)');
    }
    seenMarkers.add(nextMarker);
    marker = nextMarker;
  }
}

/**
 * A steve `/v1` collection page by page, following `continue` until it is empty (rancher-api.md
 * §9.1): as `v3Pages`, one page held at a time and one call per page.
 */
export async function* stevePages<T>(
  client: RancherClient,
  pageSize: number,
  route: string,
  query: Record<string, QueryValue> = {},
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
      query: { ...query, limit: pageSize, continue: token },
    });
    if (!isCollection(res.data)) throw client.unexpected(site, 'expected a collection');
    const next = (res.data as { continue?: unknown }).continue;
    yield res.data.data as T[];
    if (typeof next !== 'string' || next === '') return;
    if (seen.has(next)) throw client.unexpected(site, 'continue does not advance (repeated token)');
    seen.add(next);
    token = next;
  }
}

function markerOf(next: string): string | undefined {
  try {
    return new URL(next, 'http://placeholder.invalid').searchParams.get('marker') ?? undefined;
  } catch {
    return undefined;
  }
}
