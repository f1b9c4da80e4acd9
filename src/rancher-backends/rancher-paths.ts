/**
 * How `RancherClient` paths and query strings are built: templated routes filled with encoded ids,
 * and norman's query-string conventions.
 */

import type { QueryValue } from './rancher-call.types';

/** Ids go into the path raw except for characters that would change the URL's structure; `:` stays, as Rancher expects (§2.5). */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':');
}

export function fillRoute(route: string, params: Record<string, string> = {}): string {
  return route.replace(/:([A-Za-z]\w*)/g, (_match, key: string) => {
    const value = params[key];
    if (value === undefined || value === '') throw new Error(`missing path parameter "${key}" for ${route}`);
    return encodeSegment(value);
  });
}

export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    // norman takes repeated keys for `_in` filters, not `key[]=` or comma lists (§2.4).
    if (Array.isArray(value)) for (const v of value) search.append(key, String(v));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
