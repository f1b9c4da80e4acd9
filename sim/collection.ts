import { renderResource } from './envelope';
import type { RequestContext, ResourceType } from './resources/resource-type';
import { compareIds, type SimObject } from './store';

/** Norman's page size rules (§2.3). */
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 10000;

type Modifier = 'eq' | 'ne' | 'in' | 'notin';

interface FilterCondition {
  field: string;
  modifier: Modifier;
  values: string[];
}

/** Query keys that are list options, never filters. */
const RESERVED = new Set(['limit', 'marker', 'sort', 'order']);

export interface ListRequest {
  /** The path as the caller wrote it; pagination links repeat it (§2.3). */
  path: string;
  query: URLSearchParams;
}

export function parseLimit(raw: string | null): number {
  if (raw === null || !/^-?\d+$/.test(raw)) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (limit < 0 || limit > MAX_LIMIT) return MAX_LIMIT;
  return limit === 0 ? DEFAULT_LIMIT : limit;
}

/**
 * `field`, `field_ne`, `field_in`, `field_notin` on fields the schema filters; anything else is
 * silently ignored, as a real server does (§2.4).
 */
export function parseFilters(query: URLSearchParams, filterable: readonly string[]): FilterCondition[] {
  const conditions: FilterCondition[] = [];
  for (const key of new Set(query.keys())) {
    if (RESERVED.has(key) || key.startsWith('_') || key === 'action') continue;
    const values = query.getAll(key);
    const match = /^(.+)_(eq|ne|in|notin)$/.exec(key);
    const [field, modifier] =
      match && filterable.includes(match[1]) ? [match[1], match[2] as Modifier] : [key, 'eq' as Modifier];
    if (!filterable.includes(field)) continue;
    if (modifier === 'in' || modifier === 'notin') conditions.push({ field, modifier, values });
    else for (const value of values) conditions.push({ field, modifier, values: [value] });
  }
  return conditions;
}

function matches(type: ResourceType, object: SimObject, condition: FilterCondition): boolean {
  const value = type.filterValue(object, condition.field);
  switch (condition.modifier) {
    case 'eq':
    case 'in':
      return value !== undefined && condition.values.includes(value);
    case 'ne':
    case 'notin':
      return value === undefined || !condition.values.includes(value);
  }
}

/** Objects matching every condition, sorted by id; uses an index for `clusterId=`-style filters. */
function select(type: ResourceType, conditions: FilterCondition[]): readonly SimObject[] | readonly string[] {
  if (conditions.length === 0) return type.table.sortedIds();
  const indexed = conditions.find(
    (c) => c.modifier === 'eq' && type.table.isIndexed(c.field) && c.values.length === 1,
  );
  let candidates: SimObject[];
  if (indexed && type.table.isIndexed(indexed.field)) {
    candidates = type.table.where(indexed.field, indexed.values[0]).sort((a, b) => compareIds(a.id, b.id));
  } else {
    candidates = type.table.sortedIds().map((id) => type.table.get(id)!);
  }
  return candidates.filter((object) => conditions.every((c) => matches(type, object, c)));
}

function urlWith(ctx: RequestContext, request: ListRequest, changes: Record<string, string | null>): string {
  const query = new URLSearchParams(request.query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) query.delete(key);
    else query.set(key, value);
  }
  const search = query.toString();
  return `${ctx.baseUrl}${request.path}${search ? `?${search}` : ''}`;
}

/** The collection envelope (§2.2) for one page of `type`. */
export function listCollection(
  type: ResourceType,
  request: ListRequest,
  ctx: RequestContext,
): Record<string, unknown> {
  const { query } = request;
  const conditions = parseFilters(query, type.filters);
  const limit = parseLimit(query.get('limit'));
  const sortField = query.get('sort');
  const sortBy = sortField !== null && type.filters.includes(sortField) ? sortField : null;
  const descending = query.get('order') === 'desc';

  const selected = select(type, conditions);
  let items: readonly (SimObject | string)[] = selected;
  if (sortBy !== null || descending) {
    const objects = selected.map((item) => (typeof item === 'string' ? type.table.get(item)! : item));
    if (sortBy !== null) {
      objects.sort(
        (a, b) =>
          compareIds(type.filterValue(a, sortBy) ?? '', type.filterValue(b, sortBy) ?? '') ||
          compareIds(a.id, b.id),
      );
    }
    if (descending) objects.reverse();
    items = objects;
  }
  const idAt = (index: number): string => {
    const item = items[index];
    return typeof item === 'string' ? item : item.id;
  };

  const total = items.length;
  const marker = query.get('marker');
  let start = 0;
  if (marker !== null) {
    const found = findIndex(items, marker, sortBy === null && !descending);
    if (found >= 0) start = found;
  }
  const end = Math.min(start + limit, total);
  const page: Record<string, unknown>[] = [];
  for (let i = start; i < end; i++) {
    const item = items[i];
    page.push(renderResource(type, typeof item === 'string' ? type.table.get(item)! : item, ctx));
  }

  const pagination: Record<string, unknown> = { limit, total };
  if (marker !== null) pagination.marker = marker;
  if (total > limit) {
    pagination.partial = true;
    pagination.first = urlWith(ctx, request, { marker: idAt(0) });
    if (start > 0) pagination.previous = urlWith(ctx, request, { marker: idAt(Math.max(0, start - limit)) });
    if (end < total) pagination.next = urlWith(ctx, request, { marker: idAt(end) });
    pagination.last = urlWith(ctx, request, { marker: idAt(total - (total % limit || limit)) });
  }

  const filters: Record<string, unknown> = {};
  for (const field of type.filters) {
    const applied = conditions.filter((c) => c.field === field);
    filters[field] =
      applied.length === 0
        ? null
        : applied.map((c) => ({
            modifier: c.modifier,
            value: c.values.length === 1 ? c.values[0] : c.values,
          }));
  }
  const sortLinks: Record<string, string> = {};
  for (const field of type.filters) sortLinks[field] = urlWith(ctx, request, { sort: field, marker: null });
  const sort: Record<string, unknown> = {
    order: descending ? 'desc' : 'asc',
    reverse: urlWith(ctx, request, { order: descending ? 'asc' : 'desc', marker: null }),
    links: sortLinks,
  };
  if (sortBy !== null) sort.name = sortBy;

  const collectionUrl = type.collectionUrl(ctx);
  return {
    type: 'collection',
    resourceType: type.schemaId,
    links: { self: collectionUrl },
    createTypes: type.canCreate ? { [type.schemaId]: collectionUrl } : {},
    actions: {},
    pagination,
    sort,
    filters,
    data: page,
  };
}

/** Position of `id`; binary search when the list is in id order (the default sort). */
function findIndex(items: readonly (SimObject | string)[], id: string, idOrdered: boolean): number {
  const idOf = (item: SimObject | string) => (typeof item === 'string' ? item : item.id);
  if (!idOrdered) return items.findIndex((item) => idOf(item) === id);
  let low = 0;
  let high = items.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const cmp = compareIds(idOf(items[mid]), id);
    if (cmp === 0) return mid;
    if (cmp < 0) low = mid + 1;
    else high = mid - 1;
  }
  return -1;
}
