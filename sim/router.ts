import { listCollection } from './collection';
import { renderResource } from './envelope';
import {
  ApiError,
  errorResponse,
  invalidAction,
  json,
  methodNotAllowed,
  parseJsonObject,
  type SimResponse,
} from './http';
import type { RequestContext } from './resources/resource-type';
import type { World } from './world';

export interface ApiRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  body: string;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE']);

/** The norman `/v3` API (§2): type lookup, CRUD, actions. Errors become error envelopes (§2.6). */
export function handleV3(world: World, request: ApiRequest, ctx: RequestContext): SimResponse {
  try {
    return dispatch(world, request, ctx);
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    return errorResponse(new ApiError(500, 'ServerError', (error as Error).message));
  }
}

function dispatch(world: World, request: ApiRequest, ctx: RequestContext): SimResponse {
  const { method, query } = request;
  if (!METHODS.has(method)) throw methodNotAllowed(`Method ${method} not supported`);
  const rest = request.path.replace(/^\/v3\/?/, '');
  if (rest === '') {
    if (method !== 'GET') throw methodNotAllowed(`Method ${method} not supported`);
    return json(200, apiRoot(world, ctx));
  }
  const segments = rest.split('/').filter((segment, i) => segment !== '' || i === 0);
  const segment = decodeURIComponent(segments[0]);
  const type = world.typeForPath(segment);
  // norman's parser names the raw segment it found no schema for (rancher-212.md §1.3).
  if (!type) throw new ApiError(404, 'NotFound', `failed to find schema ${segment}`);
  if (segments.length > 2) throw new ApiError(404, 'NotFound', 'Not Found');
  const id = segments.length === 2 ? decodeURIComponent(segments[1]) : undefined;
  const action = query.get('action');

  if (id === undefined) {
    switch (method) {
      case 'GET':
        return json(200, listCollection(type, { path: request.path, query }, ctx));
      case 'POST': {
        if (!type.canCreate) throw methodNotAllowed('Method POST not supported');
        const body = parseJsonObject(request.body);
        // No simulated type has collection actions.
        if (action !== null) throw invalidAction(`Invalid action: ${action}`);
        return json(201, renderResource(type, type.create(body, ctx), ctx));
      }
      default:
        throw methodNotAllowed(`Method ${method} not supported`);
    }
  }

  switch (method) {
    case 'GET':
      return json(200, renderResource(type, type.find(id), ctx));
    case 'PUT': {
      if (!type.canUpdate) throw methodNotAllowed('Method PUT not supported');
      const body = parseJsonObject(request.body);
      const object = type.find(id);
      type.update(object, body, query.get('_replace') === 'true', ctx);
      return json(200, renderResource(type, object, ctx));
    }
    case 'DELETE': {
      if (!type.canRemove) throw methodNotAllowed('Method DELETE not supported');
      const object = type.find(id);
      type.remove(object);
      return json(200, renderResource(type, object, ctx));
    }
    case 'POST': {
      if (action === null) throw methodNotAllowed('Method POST not supported');
      const body = parseJsonObject(request.body);
      // `ValidateAction` (§2.7): unknown name → 422 before the lookup; known but absent → 422 after.
      if (!type.schemaActions.includes(action)) throw invalidAction(`Invalid action: ${action}`);
      const object = type.table.get(id);
      if (!object) throw new ApiError(404, 'NotFound', `Failed to find type: ${type.schemaId} id: ${id}`);
      if (type.checksOfferedActions && !type.actions(object).includes(action))
        throw invalidAction(`Invalid action: ${action}`);
      return type.runAction(object, action, body, ctx);
    }
    default:
      throw methodNotAllowed(`Method ${method} not supported`);
  }
}

function apiRoot(world: World, ctx: RequestContext): Record<string, unknown> {
  const links: Record<string, string> = { self: `${ctx.baseUrl}/v3`, schemas: `${ctx.baseUrl}/v3/schemas` };
  for (const type of world.types()) links[type.plural] = type.collectionUrl(ctx);
  return {
    type: 'apiRoot',
    id: 'v3',
    baseType: 'apiRoot',
    apiVersion: { group: 'management.cattle.io', version: 'v3', path: '/v3' },
    links,
  };
}
