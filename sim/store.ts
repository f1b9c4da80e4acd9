import type { Condition } from './state';

/**
 * One simulated object. `fields` is everything the API shows at top level besides the framework
 * keys of the envelope (§2.1); `hidden` is controller state a real server keeps elsewhere (secrets,
 * drain progress) and never renders.
 */
export interface SimObject {
  id: string;
  type: string;
  name: string;
  uuid: string;
  created: string;
  createdTS: number;
  removed?: string;
  removedTS?: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  conditions: Condition[];
  fields: Record<string, unknown>;
  hidden: Record<string, unknown>;
}

/** Fields that never change after create, so objects can be indexed by them. */
export type IndexedField = 'clusterId' | 'nodePoolId' | 'nodeTemplateId';

/**
 * All objects of one type: a map by id, a lazily re-sorted id list (lists are sorted by id by
 * default, §2.3, and re-sorting 10,000 ids on every page would dominate the request), and
 * secondary indexes for the reference fields lists are filtered by.
 */
export class TypeTable {
  private readonly items = new Map<string, SimObject>();
  private sorted: string[] | null = [];
  private readonly indexes = new Map<IndexedField, Map<string, Set<string>>>();

  constructor(indexed: readonly IndexedField[]) {
    for (const field of indexed) this.indexes.set(field, new Map());
  }

  get(id: string): SimObject | undefined {
    return this.items.get(id);
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  add(object: SimObject): void {
    this.items.set(object.id, object);
    this.sorted = null;
    for (const [field, index] of this.indexes) {
      const value = object.fields[field];
      if (typeof value !== 'string') continue;
      let ids = index.get(value);
      if (!ids) index.set(value, (ids = new Set()));
      ids.add(object.id);
    }
  }

  delete(id: string): void {
    const object = this.items.get(id);
    if (!object) return;
    this.items.delete(id);
    this.sorted = null;
    for (const [field, index] of this.indexes) {
      const value = object.fields[field];
      if (typeof value !== 'string') continue;
      const ids = index.get(value);
      ids?.delete(id);
      if (ids?.size === 0) index.delete(value);
    }
  }

  /** Ids in ascending byte order, like Go's string sort. */
  sortedIds(): readonly string[] {
    if (!this.sorted) this.sorted = [...this.items.keys()].sort(compareIds);
    return this.sorted;
  }

  /** Objects whose indexed `field` equals `value`, in no particular order. */
  where(field: IndexedField, value: string): SimObject[] {
    const index = this.indexes.get(field);
    if (!index) throw new Error(`field ${field} is not indexed`);
    const out: SimObject[] = [];
    for (const id of index.get(value) ?? []) out.push(this.items.get(id)!);
    return out;
  }

  isIndexed(field: string): field is IndexedField {
    return this.indexes.has(field as IndexedField);
  }
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
