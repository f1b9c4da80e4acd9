import { renderResource } from './envelope';
import { CallLog, FaultRegistry, FaultSpecError } from './faults';
import { ApiError, errorResponse, isPlainObject, json, parseJsonObject, type SimResponse } from './http';
import type { RequestContext } from './resources/resource-type';
import { parseSeedRequest, seed } from './seed';
import { setCondition, type ConditionStatus } from './state';
import type { World } from './world';

/** Types whose conditions `/__sim/conditions` may set (§11.3 item 18). */
const CONDITION_TYPES = ['cluster', 'node', 'nodePool', 'etcdBackup'];
const STATUSES: readonly string[] = ['True', 'False', 'Unknown'];

/**
 * The test-only API under `/__sim/` (design.md "The simulator"). It is authenticated like `/v3`
 * but never faulted and never recorded in the call log.
 */
export function handleControl(
  world: World,
  faults: FaultRegistry,
  calls: CallLog,
  method: string,
  path: string,
  rawBody: string,
  ctx: RequestContext,
): SimResponse {
  try {
    const route = `${method} ${path.replace(/\/+$/, '')}`;
    switch (route) {
      case 'POST /__sim/faults':
        return json(201, faults.add(parseJsonObject(rawBody)));
      case 'GET /__sim/faults':
        return json(200, { faults: faults.list() });
      case 'DELETE /__sim/faults':
        faults.clear();
        return json(200, { faults: [] });
      case 'GET /__sim/calls':
        return json(200, { calls: calls.list() });
      case 'DELETE /__sim/calls':
        calls.clear();
        return json(200, { calls: [] });
      case 'POST /__sim/conditions':
        return setObjectCondition(world, parseJsonObject(rawBody), ctx);
      case 'POST /__sim/component-statuses':
        return setComponentStatus(world, parseJsonObject(rawBody), ctx);
      case 'POST /__sim/seed':
        return json(201, seed(world, parseSeedRequest(parseJsonObject(rawBody))));
    }
    const single = /^DELETE \/__sim\/faults\/([^/]+)$/.exec(route);
    if (single) {
      if (!faults.remove(decodeURIComponent(single[1]))) throw new ApiError(404, 'NotFound', 'no such fault');
      return json(200, { faults: faults.list() });
    }
    throw new ApiError(404, 'NotFound', `no control endpoint ${route}`);
  } catch (error) {
    if (error instanceof FaultSpecError) return errorResponse(new ApiError(400, 'BadRequest', error.message));
    if (error instanceof ApiError) return errorResponse(error);
    throw error;
  }
}

/** Sets one condition the way a failing controller would, then lets the controller react. */
function setObjectCondition(world: World, body: Record<string, unknown>, ctx: RequestContext): SimResponse {
  const typeName = body.type;
  if (typeof typeName !== 'string' || !CONDITION_TYPES.includes(typeName)) {
    throw new ApiError(400, 'BadRequest', `type must be one of ${CONDITION_TYPES.join(', ')}`);
  }
  const type = world.typeForPath(typeName)!;
  if (typeof body.id !== 'string') throw new ApiError(400, 'BadRequest', 'id must be a string');
  const object = type.find(body.id);
  const condition = body.condition;
  if (
    !isPlainObject(condition) ||
    typeof condition.type !== 'string' ||
    !STATUSES.includes(String(condition.status))
  ) {
    throw new ApiError(
      400,
      'BadRequest',
      'condition must be {"type", "status": "True"|"False"|"Unknown", "message"?}',
    );
  }
  setCondition(
    object.conditions,
    condition.type,
    condition.status as ConditionStatus,
    typeof condition.message === 'string' ? condition.message : '',
    typeof condition.reason === 'string' ? condition.reason : '',
  );
  type.reconcile(object);
  return json(200, renderResource(type, object, ctx));
}

/**
 * Reports one control-plane component's health on a cluster (`componentStatuses`, §3.2):
 * `{"clusterId", "name": "etcd-0", "status": "True"|"False"|"Unknown", "message"?, "error"?}`.
 */
function setComponentStatus(world: World, body: Record<string, unknown>, ctx: RequestContext): SimResponse {
  if (typeof body.clusterId !== 'string') throw new ApiError(400, 'BadRequest', 'clusterId must be a string');
  if (typeof body.name !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(body.name)) {
    throw new ApiError(400, 'BadRequest', 'name must be a component name such as etcd-0 or scheduler');
  }
  if (!STATUSES.includes(String(body.status))) {
    throw new ApiError(400, 'BadRequest', 'status must be "True", "False" or "Unknown"');
  }
  const clusters = world.clusters;
  const cluster = clusters.find(body.clusterId);
  clusters.setComponentStatus(cluster, body.name, body.status as ConditionStatus, {
    message: typeof body.message === 'string' ? body.message : undefined,
    error: typeof body.error === 'string' ? body.error : undefined,
  });
  return json(200, renderResource(clusters, cluster, ctx));
}
