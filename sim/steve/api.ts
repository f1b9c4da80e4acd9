/**
 * Steve's `/v1` API (rancher-api.md §9.1) over the local cluster's store: type lookup by singular or
 * plural schema id, `/v1/<type>[/<namespace>[/<name>]]`, the object and collection envelopes,
 * `metadata.state`, and errors as `{type:"error", status, code, message}` with Kubernetes reasons.
 */
import { clone } from '../merge';
import { ApiError, isPlainObject, parseJsonObject, type SimResponse } from '../http';
import { paginate, parseSelectors } from '../kube/list';
import { newMetadata, requestedVersion, updatedMetadata } from '../kube/objects';
import { merge } from '../kube/patch';
import { KubeError } from '../kube/status';
import type { KubeObject } from '../kube/store';
import { k8sTime, type RequestContext } from '../resources/resource-type';
import { summarize, type Condition } from '../state';
import type { World } from '../world';
import {
  apiVersionOf,
  conflictError,
  notFoundError,
  objectId,
  qualified,
  SteveError,
  type SteveSchema,
  type SteveState,
} from './schema';

export interface SteveRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Envelope keys a client may send back that are not part of the Kubernetes object. */
const ENVELOPE_KEYS = ['id', 'type', 'links', 'actions', 'apiVersion', 'kind', 'metadata'];

export function handleSteve(world: World, request: SteveRequest, ctx: RequestContext): SimResponse {
  try {
    return dispatch(world, request, ctx);
  } catch (error) {
    const steve = toSteveError(error);
    return { status: steve.status, body: steve.toBody() };
  }
}

function toSteveError(error: unknown): SteveError {
  if (error instanceof SteveError) return error;
  if (error instanceof KubeError) return new SteveError(error.code, error.reason, error.message);
  if (error instanceof ApiError)
    return new SteveError(error.status, error.code, error.message, error.fieldName);
  return new SteveError(500, 'ServerError', (error as Error).message);
}

function dispatch(world: World, request: SteveRequest, ctx: RequestContext): SimResponse {
  const segments = request.path
    .replace(/^\/v1\/?/, '')
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => decodeURIComponent(segment));
  if (segments.length === 0) throw new SteveError(404, 'NotFound', 'Not Found');
  if (segments[0] === 'schemas' || segments[0] === 'schema')
    return schemas(world, segments, request.method, ctx);
  const schema = world.steve.schemaFor(segments[0]);
  if (!schema) throw new SteveError(404, 'NotFound', `schema ${segments[0]} not found`);
  schema.refresh?.(world);
  const maxSegments = schema.namespaced ? 3 : 2;
  if (segments.length > maxSegments) throw new SteveError(404, 'NotFound', 'Not Found');
  const namespace = schema.namespaced ? segments[1] : undefined;
  const name = schema.namespaced ? segments[2] : segments[1];
  const method = request.method;

  if (name === undefined) {
    if (method === 'GET') return { status: 200, body: list(world, schema, namespace, request, ctx) };
    if (method === 'POST') return create(world, schema, namespace, request, ctx);
    throw methodNotAllowed(method);
  }
  const current = find(world, schema, namespace, name);
  switch (method) {
    case 'GET':
      return { status: 200, body: render(world, schema, current, ctx) };
    case 'PUT':
      return replace(world, schema, current, request, ctx);
    case 'PATCH':
      return patch(world, schema, current, request, ctx);
    case 'DELETE': {
      allow(schema, 'DELETE');
      const left = schema.remove ? schema.remove(world, current) : deleteNow(world, schema, current);
      // Steve answers 200 with the object while finalizers hold it, 204 once it is gone (§9.1).
      return left ? { status: 200, body: render(world, schema, left, ctx) } : { status: 204, body: '' };
    }
    default:
      throw methodNotAllowed(method);
  }
}

function methodNotAllowed(method: string): SteveError {
  return new SteveError(405, 'MethodNotAllowed', `Method ${method} not supported`);
}

function allow(schema: SteveSchema, method: 'POST' | 'PUT' | 'PATCH' | 'DELETE'): void {
  if (!schema.methods.includes(method)) throw methodNotAllowed(method);
}

function find(world: World, schema: SteveSchema, namespace: string | undefined, name: string): KubeObject {
  const object = schema.items
    ? schema.items(world).find((item) => item.metadata.name === name)
    : world.local.get(schema.id, namespace, name);
  if (!object) throw notFoundError(schema, name);
  return object;
}

export function deleteNow(world: World, schema: SteveSchema, current: KubeObject): undefined {
  world.local.write('DELETED', schema.id, current);
  return undefined;
}

function create(
  world: World,
  schema: SteveSchema,
  urlNamespace: string | undefined,
  request: SteveRequest,
  ctx: RequestContext,
): SimResponse {
  allow(schema, 'POST');
  const body = parseJsonObject(request.body);
  const given = isPlainObject(body.metadata) ? body.metadata : {};
  const namespace = schema.namespaced
    ? urlNamespace ||
      (typeof given.namespace === 'string' && given.namespace !== '' ? given.namespace : undefined)
    : undefined;
  if (schema.namespaced && namespace === undefined) {
    throw new SteveError(422, 'InvalidBodyContent', 'metadata.namespace is required');
  }
  const kindName = `${schema.kind}.${schema.group}`;
  const metadata = newMetadata(kindName, body, namespace, 'subdomain');
  const object: KubeObject = { apiVersion: apiVersionOf(schema), kind: schema.kind, metadata };
  for (const [key, value] of Object.entries(body)) {
    // The status subresource: a create cannot set it.
    if (!ENVELOPE_KEYS.includes(key) && key !== 'status') object[key] = clone(value);
  }
  (object.metadata as unknown as Record<string, unknown>).generation = 1;
  copyListMeta(given, object);
  schema.admit?.(world, object, undefined);
  if (world.local.get(schema.id, namespace, metadata.name)) {
    throw new SteveError(409, 'AlreadyExists', `${qualified(schema)} "${metadata.name}" already exists`);
  }
  const stored = world.local.write('ADDED', schema.id, object);
  schema.afterWrite?.(world, stored, undefined);
  return { status: 201, body: render(world, schema, stored, ctx) };
}

function replace(
  world: World,
  schema: SteveSchema,
  current: KubeObject,
  request: SteveRequest,
  ctx: RequestContext,
): SimResponse {
  allow(schema, 'PUT');
  const body = parseJsonObject(request.body);
  const version = requestedVersion(body);
  // Steve's proxy store refuses an update without one before Kubernetes sees it (§9.1).
  if (version === undefined) {
    throw new SteveError(500, 'ServerError', 'metadata.resourceVersion is required for update');
  }
  return update(world, schema, current, body, version, ctx);
}

function patch(
  world: World,
  schema: SteveSchema,
  current: KubeObject,
  request: SteveRequest,
  ctx: RequestContext,
): SimResponse {
  allow(schema, 'PATCH');
  const contentType = String(request.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (contentType === 'application/json-patch+json') {
    throw new SteveError(415, 'UnsupportedMediaType', 'json-patch is not simulated; send a merge patch');
  }
  const body = parseJsonObject(request.body);
  const version = requestedVersion(body);
  const merged = merge(clone(current), body) as Record<string, unknown>;
  return update(world, schema, current, merged, version, ctx);
}

/** The update path of PUT and PATCH: precondition, metadata rules, generation, admission, store. */
function update(
  world: World,
  schema: SteveSchema,
  current: KubeObject,
  body: Record<string, unknown>,
  version: number | undefined,
  ctx: RequestContext,
): SimResponse {
  const name = current.metadata.name;
  if (version !== undefined && String(version) !== current.metadata.resourceVersion) {
    throw conflictError(schema, name);
  }
  const metadata = updatedMetadata(`${schema.kind}.${schema.group}`, body, current);
  const next: KubeObject = { apiVersion: current.apiVersion, kind: current.kind, metadata };
  for (const [key, value] of Object.entries(body)) {
    if (!ENVELOPE_KEYS.includes(key) && key !== 'status') next[key] = clone(value);
  }
  if (current.status !== undefined) next.status = clone(current.status);
  const given = isPlainObject(body.metadata) ? body.metadata : {};
  copyListMeta(given, next);
  const meta = next.metadata as unknown as Record<string, unknown>;
  // Strip what steve adds to envelopes, so a GET-modify-PUT round trip stores no rendering.
  delete meta.state;
  delete meta.relationships;
  delete meta.fields;
  const generation = Number((current.metadata as unknown as Record<string, unknown>).generation ?? 1);
  meta.generation = specOf(next) === specOf(current) ? generation : generation + 1;
  schema.admit?.(world, next, current);
  const stored = world.local.write('MODIFIED', schema.id, next);
  schema.afterWrite?.(world, stored, current);
  return { status: 200, body: render(world, schema, stored, ctx) };
}

/** Everything but metadata and status: what moves `metadata.generation`. */
function specOf(object: KubeObject): string {
  const { metadata: _metadata, status: _status, ...rest } = object;
  return JSON.stringify(rest);
}

/** Finalizers and owner references a client sets itself. */
function copyListMeta(given: Record<string, unknown>, object: KubeObject): void {
  const meta = object.metadata as unknown as Record<string, unknown>;
  for (const key of ['finalizers', 'ownerReferences']) {
    if (Array.isArray(given[key])) meta[key] = clone(given[key]);
  }
}

/** The steve collection (§9.1): `revision`, `continue`, `filter=`, `labelSelector=`, `limit`. */
function list(
  world: World,
  schema: SteveSchema,
  namespace: string | undefined,
  request: SteveRequest,
  ctx: RequestContext,
): Record<string, unknown> {
  const selector = parseSelectors(request.query);
  const filters = request.query.getAll('filter').map(parseFilter);
  const items = (schema.items ? schema.items(world) : world.local.list(schema.id, namespace)).filter(
    (item) =>
      (namespace === undefined || item.metadata.namespace === namespace) &&
      selector(item) &&
      filters.every((filter) => filter(item)),
  );
  const page = paginate(items, request.query, world.local.resourceVersion);
  const url = collectionUrl(schema, ctx);
  const out: Record<string, unknown> = {
    type: 'collection',
    links: { self: url },
    createTypes: schema.methods.includes('POST') ? { [schema.id]: url } : {},
    actions: {},
    resourceType: schema.id,
    revision: page.resourceVersion,
    count: page.items.length,
  };
  if (page.continueToken) out.continue = page.continueToken;
  const sort = request.query.get('sort');
  const shown = sort ? sortItems(page.items, sort) : page.items;
  out.data = shown.map((item) => render(world, schema, item, ctx));
  return out;
}

/**
 * One `filter=` parameter: `path=value` or `path!=value`, `,` separating alternatives. Steve's
 * list processor matches a value that contains the given text, not only an equal one.
 */
function parseFilter(raw: string): (object: KubeObject) => boolean {
  const alternatives = raw.split(',').map((part) => {
    const match = /^([^=!]+)(!=|=)(.*)$/.exec(part);
    if (!match) return () => false;
    const [, path, operator, expected] = match;
    const keys = pathKeys(path);
    return (object: KubeObject) => {
      const value = valueAt(object, keys);
      const text =
        value === undefined || value === null
          ? ''
          : typeof value === 'string'
            ? value
            : JSON.stringify(value);
      const contains = value !== undefined && text.includes(expected);
      return operator === '!=' ? !contains : contains;
    };
  });
  return (object) => alternatives.some((check) => check(object));
}

/**
 * `sort=metadata.name,-spec.x`: fields in order, `-` for descending. Like steve's list processor
 * it orders the page it returns, not the whole collection across `continue` pages.
 */
function sortItems(items: KubeObject[], sort: string): KubeObject[] {
  const fields = sort
    .split(',')
    .filter((field) => field !== '')
    .map((field) => ({ descending: field.startsWith('-'), keys: pathKeys(field.replace(/^-/, '')) }));
  const text = (value: unknown) =>
    value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return [...items].sort((a, b) => {
    for (const { descending, keys } of fields) {
      const x = text(valueAt(a, keys));
      const y = text(valueAt(b, keys));
      if (x !== y) return (x < y ? -1 : 1) * (descending ? -1 : 1);
    }
    return 0;
  });
}

/** `metadata.labels[example.com/x]` → `['metadata', 'labels', 'example.com/x']`. */
function pathKeys(path: string): string[] {
  const keys: string[] = [];
  const pattern = /([^.[\]]+)|\[([^\]]*)\]/g;
  for (const match of path.matchAll(pattern)) keys.push(match[1] ?? match[2]);
  return keys;
}

function valueAt(object: unknown, keys: string[]): unknown {
  let value: unknown = object;
  for (const key of keys) {
    if (!isPlainObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

export function collectionUrl(schema: SteveSchema, ctx: RequestContext): string {
  return `${ctx.baseUrl}/v1/${schema.id}s`;
}

/** The steve object envelope: Kubernetes JSON plus `id`, `type`, `links`, `metadata.state`. */
export function render(
  world: World,
  schema: SteveSchema,
  object: KubeObject,
  ctx: RequestContext,
): Record<string, unknown> {
  const id = objectId(object);
  const self = `${collectionUrl(schema, ctx)}/${id}`;
  const { namespace, name } = object.metadata;
  const view =
    `${ctx.baseUrl}/apis/${schema.group}/${schema.version}/` +
    `${namespace ? `namespaces/${namespace}/` : ''}${schema.resource}/${name}`;
  const links: Record<string, string> = { self };
  if (schema.methods.includes('DELETE')) links.remove = self;
  if (schema.methods.includes('PUT')) links.update = self;
  if (schema.methods.includes('PATCH')) links.patch = self;
  links.view = view;
  const state = schema.state ? schema.state(world, object) : defaultState(object);
  const out: Record<string, unknown> = { id, type: schema.id, links };
  for (const [key, value] of Object.entries(object)) out[key] = value;
  out.metadata = {
    ...object.metadata,
    state,
    relationships: [],
    fields: [name, object.metadata.creationTimestamp],
  };
  return out;
}

/** wrangler's summary of `status.conditions`, removing while a deletion timestamp is set. */
export function defaultState(object: KubeObject): SteveState {
  const status = isPlainObject(object.status) ? object.status : {};
  const conditions = Array.isArray(status.conditions) ? (status.conditions as Condition[]) : [];
  const summary = summarize(conditions, object.metadata.deletionTimestamp !== undefined);
  return {
    name: summary.state,
    error: summary.transitioning === 'error',
    transitioning: summary.transitioning === 'yes',
    message: summary.transitioningMessage,
  };
}

/** Marks a deletion: the object stays (its finalizers run) and reads `removing`. */
export function markDeleting(world: World, schema: SteveSchema, current: KubeObject): KubeObject {
  if (current.metadata.deletionTimestamp !== undefined) return current;
  const next = clone(current);
  next.metadata.deletionTimestamp = k8sTime();
  return world.local.write('MODIFIED', schema.id, next);
}

/** `GET /v1/schemas[/<id>]`: what a client checks to learn a type is served (`apiserver` `APISchema`). */
function schemas(world: World, segments: string[], method: string, ctx: RequestContext): SimResponse {
  if (method !== 'GET') throw methodNotAllowed(method);
  if (segments.length > 2) throw new SteveError(404, 'NotFound', 'Not Found');
  if (segments.length === 2) {
    const schema = world.steve.schemaFor(segments[1]);
    if (!schema || schema.id !== segments[1].toLowerCase()) {
      throw new SteveError(404, 'NotFound', `schemas "${segments[1]}" not found`);
    }
    return { status: 200, body: renderSchema(schema, ctx) };
  }
  const data = world.steve.all().map((schema) => renderSchema(schema, ctx));
  return {
    status: 200,
    body: {
      type: 'collection',
      links: { self: `${ctx.baseUrl}/v1/schemas` },
      createTypes: {},
      actions: {},
      resourceType: 'schema',
      revision: String(world.local.resourceVersion),
      count: data.length,
      data,
    },
  };
}

function renderSchema(schema: SteveSchema, ctx: RequestContext): Record<string, unknown> {
  const verbs = ['get', 'list', 'watch'];
  if (schema.methods.includes('POST')) verbs.push('create');
  if (schema.methods.includes('PUT')) verbs.push('update');
  if (schema.methods.includes('PATCH')) verbs.push('patch');
  if (schema.methods.includes('DELETE')) verbs.push('delete');
  return {
    id: schema.id,
    type: 'schema',
    links: { collection: collectionUrl(schema, ctx), self: `${ctx.baseUrl}/v1/schemas/${schema.id}` },
    pluralName: `${schema.id}s`,
    resourceMethods: ['GET', ...schema.methods.filter((m) => m !== 'POST')],
    collectionMethods: ['GET', ...schema.methods.filter((m) => m === 'POST')],
    resourceFields: null,
    attributes: {
      group: schema.group,
      version: schema.version,
      kind: schema.kind,
      resource: schema.resource,
      namespaced: schema.namespaced,
      verbs: verbs.sort(),
    },
  };
}
