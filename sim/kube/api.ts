/**
 * The downstream cluster's kube-apiserver as reached through Rancher's proxy: paths here are what
 * follows `/k8s/clusters/<id>`. Every failure is a Kubernetes `Status`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { json, type SimResponse } from '../http';
import { execResponse } from './exec';
import { apiGroupList, apiVersions, coreResourceList, versionInfo } from './discovery';
import { paginate, parseSelectors } from './list';
import { parseBody } from './objects';
import { applyMergePatch } from './patch';
import {
  createObject,
  deleteObject,
  getObject,
  replaceObject,
  resourceNamed,
  type KubeContext,
  type ResourceDef,
} from './resources';
import { KubeError, methodNotSupported, noSuchPath } from './status';
import type { KubeObject } from './store';
import { includeObjectOf, toTable, wantsTable } from './table';
import { isWatch, watchResponse } from './watch';

export interface KubeRequest {
  method: string;
  /** The path after the cluster prefix, still percent-encoded; `/` at least. */
  path: string;
  query: URLSearchParams;
  body: string;
  headers: IncomingHttpHeaders;
  /** The request asked to switch protocols (`Connection: Upgrade`). */
  upgrade: boolean;
}

/** A request aimed at one resource: its collection, or one object (and maybe a subresource). */
export interface ResourceTarget {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function handleKubeApi(ctx: KubeContext, request: KubeRequest): SimResponse {
  try {
    return dispatch(ctx, request);
  } catch (error) {
    if (error instanceof KubeError) return json(error.code, error.toStatus());
    throw error;
  }
}

function dispatch(ctx: KubeContext, request: KubeRequest): SimResponse {
  const path = request.path.length > 1 ? request.path.replace(/\/+$/, '') : request.path;
  const document = discoveryDocument(ctx, path);
  if (document !== undefined) {
    if (request.method !== 'GET') throw methodNotSupported();
    return typeof document === 'string' ? { status: 200, body: document } : json(200, document);
  }
  const target = parseTarget(path);
  if (!target) throw noSuchPath();
  if (target.subresource !== undefined) {
    if (target.def.name !== 'pods' || target.subresource !== 'exec') throw noSuchPath();
    if (request.method !== 'GET' && request.method !== 'POST') throw methodNotSupported();
    return execResponse(ctx, target.namespace!, target.name!, request);
  }
  return target.name === undefined ? onCollection(ctx, request, target) : onObject(ctx, request, target);
}

function discoveryDocument(ctx: KubeContext, path: string): unknown {
  switch (path) {
    case '/version':
      return versionInfo(ctx.cluster);
    case '/api':
      return apiVersions(ctx.cluster);
    case '/apis':
      return apiGroupList();
    case '/api/v1':
      return coreResourceList();
    case '/healthz':
    case '/livez':
    case '/readyz':
      return 'ok';
    default:
      return undefined;
  }
}

/**
 * `/api/v1/<resource>[/<name>[/<sub>]]` for cluster-scoped resources (and all-namespace lists),
 * `/api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]]` for namespaced ones.
 */
export function parseTarget(path: string): ResourceTarget | undefined {
  if (!path.startsWith('/api/v1/')) return undefined;
  let segments: string[];
  try {
    segments = path.slice('/api/v1/'.length).split('/').map(decodeURIComponent);
  } catch {
    return undefined;
  }
  if (segments.some((segment) => segment === '')) return undefined;
  let namespace: string | undefined;
  if (segments[0] === 'namespaces' && segments.length >= 3) {
    namespace = segments[1];
    segments = segments.slice(2);
  }
  const def = resourceNamed(segments[0]);
  if (!def || segments.length > 3) return undefined;
  if (namespace !== undefined && !def.namespaced) return undefined;
  // A namespaced object is only addressable inside its namespace; only lists may span all of them.
  if (namespace === undefined && def.namespaced && segments.length > 1) return undefined;
  return { def, namespace, name: segments[1], subresource: segments[2] };
}

function onCollection(ctx: KubeContext, request: KubeRequest, target: ResourceTarget): SimResponse {
  const { def, namespace } = target;
  switch (request.method) {
    case 'GET':
      if (isWatch(request.query))
        return watchResponse(ctx, def, namespace, request.query, eventRenderer(def, request));
      return json(200, listBody(ctx, def, namespace, request));
    case 'POST':
      if (!def.verbs.includes('create')) throw methodNotSupported();
      return json(201, createObject(ctx, def, namespace, request.body));
    default:
      throw methodNotSupported();
  }
}

function onObject(ctx: KubeContext, request: KubeRequest, target: ResourceTarget): SimResponse {
  const { def, namespace } = target;
  const name = target.name!;
  switch (request.method) {
    case 'GET':
      // The deprecated single-object watch: the same as a list watch narrowed to this name.
      if (isWatch(request.query)) {
        return watchResponse(ctx, def, namespace, request.query, eventRenderer(def, request), name);
      }
      const object = getObject(ctx, def, namespace, name);
      if (!wantsTable(request.headers.accept)) return json(200, object);
      return json(200, toTable(def.name, [object], {}, includeObjectOf(request.query)));
    case 'PUT':
      if (!def.verbs.includes('update')) throw methodNotSupported();
      return json(200, replaceObject(ctx, def, namespace, name, parseBody(request.body, def.kind)));
    case 'PATCH': {
      if (!def.verbs.includes('patch')) throw methodNotSupported();
      const current = getObject(ctx, def, namespace, name);
      const merged = applyMergePatch(current, request.headers['content-type'], request.body);
      return json(200, replaceObject(ctx, def, namespace, name, merged));
    }
    case 'DELETE':
      if (!def.verbs.includes('delete')) throw methodNotSupported();
      return json(200, deleteObject(ctx, def, namespace, name));
    default:
      throw methodNotSupported();
  }
}

function listBody(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  request: KubeRequest,
): Record<string, unknown> {
  const selector = parseSelectors(request.query);
  const page = paginate(
    def.items(ctx, namespace).filter(selector),
    request.query,
    ctx.objects.resourceVersion,
  );
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if (page.continueToken !== undefined) {
    metadata.continue = page.continueToken;
    metadata.remainingItemCount = page.remainingItemCount;
  }
  if (wantsTable(request.headers.accept)) {
    return toTable(def.name, page.items, metadata, includeObjectOf(request.query));
  }
  return { kind: `${def.kind}List`, apiVersion: 'v1', metadata, items: page.items.map(listItem) };
}

/** Watch events carry the object itself, or a one-row Table (column definitions in the first only). */
function eventRenderer(
  def: ResourceDef,
  request: KubeRequest,
): (object: KubeObject, first: boolean) => unknown {
  if (!wantsTable(request.headers.accept)) return (object) => object;
  const include = includeObjectOf(request.query);
  return (object, first) =>
    toTable(def.name, [object], { resourceVersion: object.metadata.resourceVersion }, include, first);
}

/** Items of a list carry no kind or apiVersion: the list's own say it. */
function listItem(object: KubeObject): Record<string, unknown> {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}
