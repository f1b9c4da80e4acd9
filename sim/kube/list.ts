/**
 * List semantics shared by every resource: `labelSelector` (equality, set and existence
 * requirements), `fieldSelector` on `metadata.name` / `metadata.namespace`, and `limit` /
 * `continue` paging with Kubernetes-shaped continue tokens.
 *
 * Unlike etcd, later pages are read from the current state, not a snapshot at the first page's
 * version; they still report that version, as a real paged list does.
 */
import { badRequest } from './status';
import type { KubeObject } from './store';

export type Selector = (object: KubeObject) => boolean;

export interface Page {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export function parseSelectors(query: URLSearchParams): Selector {
  const label = parseLabelSelector(query.get('labelSelector') ?? '');
  const field = parseFieldSelector(query.get('fieldSelector') ?? '');
  return (object) => label(object) && field(object);
}

/** One page of `items` (already in key order) after the `continue` token, at most `limit` long. */
export function paginate(items: KubeObject[], query: URLSearchParams, currentVersion: number): Page {
  const limitParam = query.get('limit');
  const limit = limitParam === null || limitParam === '' ? 0 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 0)
    throw badRequest(`limit: Invalid value: "${limitParam}": must be a non-negative integer`);
  const token = query.get('continue');
  let start = 0;
  let version = currentVersion;
  if (token) {
    const { rv, after } = decodeContinue(token);
    version = rv;
    start = items.findIndex((item) => keyOf(item) > after);
    if (start < 0) start = items.length;
  }
  const end = limit > 0 ? Math.min(items.length, start + limit) : items.length;
  const page: Page = { items: items.slice(start, end), resourceVersion: String(version) };
  if (end < items.length) {
    page.continueToken = encodeContinue(version, keyOf(items[end - 1]));
    page.remainingItemCount = items.length - end;
  }
  return page;
}

function keyOf(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace === undefined ? name : `${namespace}/${name}`;
}

/** The apiserver's token: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<next key>"}`. */
function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString(
    'base64url',
  );
}

function decodeContinue(token: string): { rv: number; after: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('continue key is not valid: illegal base64 data');
  }
  const { v, rv, start } = (parsed ?? {}) as { v?: unknown; rv?: unknown; start?: unknown };
  if (
    v !== 'meta.k8s.io/v1' ||
    !Number.isInteger(rv) ||
    typeof start !== 'string' ||
    !start.endsWith('\u0000')
  ) {
    throw badRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
  return { rv: rv as number, after: start.slice(0, -1) };
}

function parseLabelSelector(selector: string): Selector {
  const checks: Selector[] = [];
  for (const part of splitRequirements(selector)) {
    const requirement = part.trim();
    if (requirement === '') continue;
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(requirement);
    if (set) {
      const [, key, operator, list] = set;
      const values = new Set(list.split(',').map((value) => value.trim()));
      checks.push((object) => {
        const value = object.metadata.labels?.[key];
        return operator === 'in'
          ? value !== undefined && values.has(value)
          : value === undefined || !values.has(value);
      });
      continue;
    }
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*([^=!\s]*)$/.exec(requirement);
    if (equality) {
      const [, key, operator, expected] = equality;
      checks.push((object) => {
        const value = object.metadata.labels?.[key];
        return operator === '!=' ? value !== expected : value === expected;
      });
      continue;
    }
    const existence = /^(!?)([^=!\s(),]+)$/.exec(requirement);
    if (existence) {
      const [, not, key] = existence;
      checks.push((object) => (object.metadata.labels?.[key] !== undefined) !== (not === '!'));
      continue;
    }
    throw badRequest(
      `unable to parse requirement: found '${requirement}', expected: in, notin, =, ==, !=, gt, lt`,
    );
  }
  return (object) => checks.every((check) => check(object));
}

/** Commas separate requirements except inside `in (a,b)` lists. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return parts;
}

function parseFieldSelector(selector: string): Selector {
  const checks: Selector[] = [];
  for (const part of selector.split(',')) {
    if (part.trim() === '') continue;
    const match = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(\S*)\s*$/.exec(part);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const [, field, operator, expected] = match;
    if (field !== 'metadata.name' && field !== 'metadata.namespace') {
      throw badRequest(`field label not supported: ${field}`);
    }
    checks.push((object) => {
      const value = field === 'metadata.name' ? object.metadata.name : (object.metadata.namespace ?? '');
      return operator === '!=' ? value !== expected : value === expected;
    });
  }
  return (object) => checks.every((check) => check(object));
}
