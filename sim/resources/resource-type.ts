import { invalidAction, methodNotAllowed, missingRequired, notFound, type SimResponse } from '../http';
import { summarize, type Summary } from '../state';
import { TypeTable, type IndexedField, type SimObject } from '../store';
import type { World } from '../world';

/** What a handler needs to know about the request it is answering. */
export interface RequestContext {
  /** Scheme and host the caller used (`http://127.0.0.1:9555`); links are built from it (§2.5). */
  baseUrl: string;
}

export interface TypeNames {
  /** Schema id, camelCase singular (`nodePool`). */
  schemaId: string;
  /** camelCase plural used in resource links (`nodePools`); its lower-case form is the collection path. */
  plural: string;
  /** Namespaced by cluster: ids `<cluster>:<name>` and `namespaceId: null` (§2.8). */
  scoped: boolean;
  /** Fields the real schema lets lists filter (and sort) by (§2.4). */
  filters: readonly string[];
  indexed?: readonly IndexedField[];
  /** Every action the schema knows, invocable or not: decides 422 vs 404 ordering (§2.7). */
  schemaActions?: readonly string[];
}

/**
 * One `/v3` type. Subclasses override what their schema supports; the defaults answer the way
 * norman does for a type without that method (405) or action (422).
 */
export abstract class ResourceType {
  readonly schemaId: string;
  readonly plural: string;
  readonly scoped: boolean;
  readonly filters: readonly string[];
  readonly schemaActions: readonly string[];
  readonly table: TypeTable;
  /** Pools and backups keep conditions under `status` (§4.2, §6); the rest embed them. */
  protected readonly conditionsInStatus: boolean = false;

  constructor(
    protected readonly world: World,
    names: TypeNames,
  ) {
    this.schemaId = names.schemaId;
    this.plural = names.plural;
    this.scoped = names.scoped;
    this.filters = names.filters;
    this.schemaActions = names.schemaActions ?? [];
    this.table = new TypeTable(names.indexed ?? []);
  }

  /** Lower-case plural, as in `nodepools.management.cattle.io` and collection paths. */
  get collectionName(): string {
    return this.plural.toLowerCase();
  }

  collectionUrl(ctx: RequestContext): string {
    return `${ctx.baseUrl}/v3/${this.collectionName}`;
  }

  resourceUrl(ctx: RequestContext, id: string): string {
    return `${ctx.baseUrl}/v3/${this.plural}/${id}`;
  }

  get canCreate(): boolean {
    return true;
  }

  get canUpdate(): boolean {
    return true;
  }

  get canRemove(): boolean {
    return true;
  }

  /** The object, or the k8s-style 404 a real store answers with. */
  find(id: string): SimObject {
    const object = this.table.get(id);
    if (!object) throw notFound(this.collectionName, k8sName(id));
    return object;
  }

  create(_body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    throw methodNotAllowed('Method POST not supported');
  }

  update(_object: SimObject, _body: Record<string, unknown>, _replace: boolean, _ctx: RequestContext): void {
    throw methodNotAllowed('Method PUT not supported');
  }

  /** Starts a delete: the object turns `removing` and disappears after `delayMs()`. */
  remove(object: SimObject): void {
    this.markRemoved(object);
    this.world.scheduler.ensure(`${object.id}#delete`, this.deleteDelayMs(), () => this.finishRemove(object));
  }

  /** Sets the deletion timestamp, which alone turns the state into `removing` (§2.1). */
  markRemoved(object: SimObject): void {
    if (object.removed !== undefined) return;
    object.removed = k8sTime();
    object.removedTS = Date.parse(object.removed);
  }

  protected deleteDelayMs(): number {
    return this.world.timings.objectDeleteMs;
  }

  /** Drops the object (its finalizers are done); subclasses cascade and notify controllers. */
  finishRemove(object: SimObject): void {
    if (this.table.get(object.id) === object) this.table.delete(object.id);
  }

  /** Lets the type's controller take its next step after conditions changed (§11.3 item 18). */
  reconcile(_object: SimObject): void {}

  /** Whether an action the object does not offer is refused before its handler runs (§2.7). */
  get checksOfferedActions(): boolean {
    return true;
  }

  /** Actions currently invocable on this object (only those are listed, §11.2 item 12). */
  actions(_object: SimObject): string[] {
    return [];
  }

  runAction(
    _object: SimObject,
    name: string,
    _body: Record<string, unknown>,
    _ctx: RequestContext,
  ): SimResponse {
    throw invalidAction(`Invalid action: ${name}`);
  }

  summary(object: SimObject): Summary {
    return summarize(object.conditions, object.removed !== undefined);
  }

  /**
   * Type-specific top-level fields of the envelope, as a fresh object the envelope adds to.
   * (Built with assignments, not spreads: object spreads followed by more keys are several times
   * slower in V8, which shows on a 1,000-item page.)
   */
  renderFields(object: SimObject, _ctx: RequestContext): Record<string, unknown> {
    return Object.assign({}, object.fields);
  }

  links(_object: SimObject, _ctx: RequestContext): Record<string, string> {
    return {};
  }

  renderConditions(object: SimObject): Record<string, unknown> {
    return this.conditionsInStatus
      ? { status: { conditions: object.conditions } }
      : { conditions: object.conditions };
  }

  /** Value of a filterable field as lists compare it: exact string equality (§2.4). */
  filterValue(object: SimObject, field: string): string | undefined {
    const value = field === 'name' ? object.name : object.fields[field];
    if (value === undefined || value === null) return undefined;
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /** True while the object is alive and not being deleted; controllers check it before each step. */
  isLive(object: SimObject): boolean {
    return object.removed === undefined && this.table.get(object.id) === object;
  }
}

/** The k8s name inside a scoped id (`c-abcde:np-x7k2p` → `np-x7k2p`). */
export function k8sName(id: string): string {
  const colon = id.indexOf(':');
  return colon === -1 ? id : id.slice(colon + 1);
}

/** k8s timestamps have second precision (`2025-03-01T10:00:00Z`). */
export function k8sTime(date = new Date()): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

export function requireString(body: Record<string, unknown>, field: string, fieldName = field): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw missingRequired(fieldName);
  return value;
}
