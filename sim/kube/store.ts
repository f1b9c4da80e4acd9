/**
 * The objects one simulated downstream cluster stores (what etcd holds behind its kube-apiserver):
 * one resourceVersion counter per cluster that every write bumps, a bounded history of change
 * events so a watch can resume from a list's version, and the open watches to notify.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ChangeEvent {
  type: EventType;
  resource: string;
  resourceVersion: number;
  object: KubeObject;
  /** The object as it was before this write (absent for ADDED). */
  previous?: KubeObject;
}

/** Events kept for watches resuming from an older version; older ones answer 410 Expired. */
const HISTORY = 1_000;

export class ClusterObjects {
  private version = 1;
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  /** Sorted keys per resource, dropped when a key is added or removed (not on a modification). */
  private readonly sortedKeys = new Map<string, string[]>();
  private history: ChangeEvent[] = [];
  private readonly watchers = new Set<(event: ChangeEvent | null) => void>();

  /** The version of the last write: what a list reports and a watch may resume from. */
  get resourceVersion(): number {
    return this.version;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.table(resource).get(key(namespace, name));
  }

  /** Objects in etcd key order (namespace, then name), as a real list returns them. */
  list(resource: string, namespace?: string): KubeObject[] {
    const table = this.table(resource);
    let keys = this.sortedKeys.get(resource);
    if (!keys) this.sortedKeys.set(resource, (keys = [...table.keys()].sort()));
    const prefix = namespace === undefined ? '' : `${namespace}/`;
    const out: KubeObject[] = [];
    for (const k of keys) if (k.startsWith(prefix)) out.push(table.get(k)!);
    return out;
  }

  /** Names of the resources that ever held an object. */
  resources(): string[] {
    return [...this.tables.keys()];
  }

  /**
   * Stores `object` (or removes it, for DELETED) under a new resourceVersion, records the event
   * and tells every watch. The object must not be mutated afterwards: events share it.
   */
  write(type: EventType, resource: string, object: KubeObject): KubeObject {
    this.version++;
    const stored: KubeObject = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(this.version) },
    };
    const table = this.table(resource);
    const k = key(stored.metadata.namespace, stored.metadata.name);
    const previous = table.get(k);
    if (type === 'DELETED') table.delete(k);
    else table.set(k, stored);
    // A new key, or a key that went: the order changes.
    if ((previous === undefined) !== (type === 'DELETED')) this.sortedKeys.delete(resource);
    const event: ChangeEvent = { type, resource, resourceVersion: this.version, object: stored, previous };
    this.history.push(event);
    // Trim in chunks so recording stays O(1) amortized.
    if (this.history.length > HISTORY + HISTORY / 10) this.history = this.history.slice(-HISTORY);
    for (const watcher of this.watchers) watcher(event);
    return stored;
  }

  /** The oldest version a watch may resume from: the one just before the first retained event. */
  get oldestResumableVersion(): number {
    return (this.history[0]?.resourceVersion ?? this.version + 1) - 1;
  }

  /** Events after `resourceVersion`, or undefined when the history no longer reaches back that far. */
  eventsAfter(resourceVersion: number): ChangeEvent[] | undefined {
    if (resourceVersion >= this.version) return [];
    if (resourceVersion < this.oldestResumableVersion) return undefined;
    return this.history.filter((event) => event.resourceVersion > resourceVersion);
  }

  /** Calls `watcher` with every later event, and with null when the cluster goes away. */
  subscribe(watcher: (event: ChangeEvent | null) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** The cluster is gone: every watch ends. */
  close(): void {
    for (const watcher of [...this.watchers]) watcher(null);
    this.watchers.clear();
  }

  private table(resource: string): Map<string, KubeObject> {
    let table = this.tables.get(resource);
    if (!table) this.tables.set(resource, (table = new Map()));
    return table;
  }
}

function key(namespace: string | undefined, name: string): string {
  // The tail of the etcd key (`/registry/configmaps/<namespace>/<name>`), so sorting keys gives etcd's order.
  return namespace === undefined ? name : `${namespace}/${name}`;
}
