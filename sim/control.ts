import { registerAgent } from './agents';
import { renderResource } from './envelope';
import { CallLog, FaultRegistry, FaultSpecError } from './faults';
import { ApiError, errorResponse, isPlainObject, json, parseJsonObject, type SimResponse } from './http';
import type { RequestContext } from './resources/resource-type';
import { parseSeedRequest, seed } from './seed';
import { clone } from './merge';
import { setCondition, type Condition, type ConditionStatus } from './state';
import { render } from './steve/api';
import { CLUSTER, MACHINE } from './steve/objects';
import { MANAGEMENT_NODE } from './steve/management-nodes';
import { BUNDLE_DEPLOYMENT } from './fleet/names';
import type { World } from './world';

/**
 * Types whose conditions `/__sim/conditions` may set (§11.3 item 18); the last two by `namespace/name`,
 * and `node` also by a provisioning-v2 management Node's `c-m-…/machine-…`.
 */
const CONDITION_TYPES = ['cluster', 'node', 'nodePool', 'etcdBackup', 'provisioningCluster', 'machine'];
const STEVE_CONDITION_TYPES: Record<string, string> = {
  provisioningCluster: CLUSTER,
  machine: MACHINE,
};
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
      case 'POST /__sim/agents':
        return registerAgent(world, parseJsonObject(rawBody));
      case 'POST /__sim/fleet/break':
        return breakDeployment(world, parseJsonObject(rawBody), ctx);
      case 'POST /__sim/seed':
        return json(201, seed(world, parseSeedRequest(world, parseJsonObject(rawBody))));
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

const BREAKAGES = ['ErrApplied', 'Modified', 'NotReady'];

/**
 * Breaks one bundle deployment behind the manager's back, as a failed redeploy (`ErrApplied`), a
 * drifted resource (`Modified`) or pods that stopped being ready (`NotReady`):
 * `{"id": "<namespace>/<name>", "state", "message"?}`. It stays broken until its deployment ID changes.
 */
function breakDeployment(world: World, body: Record<string, unknown>, ctx: RequestContext): SimResponse {
  if (typeof body.id !== 'string' || !/^[^/]+\/[^/]+$/.test(body.id)) {
    throw new ApiError(400, 'BadRequest', 'id must be "<namespace>/<name>" of a bundle deployment');
  }
  const state = body.state ?? 'ErrApplied';
  if (typeof state !== 'string' || !BREAKAGES.includes(state)) {
    throw new ApiError(400, 'BadRequest', `state must be one of ${BREAKAGES.join(', ')}`);
  }
  if (body.message !== undefined && typeof body.message !== 'string') {
    throw new ApiError(400, 'BadRequest', 'message must be a string');
  }
  const message =
    typeof body.message === 'string' && body.message !== '' ? body.message : defaultBreakMessage(state);
  const [namespace, name] = body.id.split('/');
  const broken = world.fleet.break(namespace, name, state as 'ErrApplied' | 'Modified' | 'NotReady', message);
  if (!broken)
    throw new ApiError(404, 'NotFound', `bundledeployments.fleet.cattle.io "${body.id}" not found`);
  return json(200, render(world, world.steve.get(BUNDLE_DEPLOYMENT), broken, ctx));
}

function defaultBreakMessage(state: string): string {
  if (state === 'Modified') return 'deployment.apps was modified outside of Fleet';
  if (state === 'NotReady') return 'Deployment does not have minimum availability.';
  return 'release not found: the Helm release was deleted outside of Fleet and could not be reinstalled';
}

/** Sets one condition the way a failing controller would, then lets the controller react. */
function setObjectCondition(world: World, body: Record<string, unknown>, ctx: RequestContext): SimResponse {
  const typeName = body.type;
  if (typeof typeName !== 'string' || !CONDITION_TYPES.includes(typeName)) {
    throw new ApiError(400, 'BadRequest', `type must be one of ${CONDITION_TYPES.join(', ')}`);
  }
  if (typeof body.id !== 'string') throw new ApiError(400, 'BadRequest', 'id must be a string');
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
  const steveType = STEVE_CONDITION_TYPES[typeName];
  if (steveType) return setSteveCondition(world, steveType, body.id, condition, ctx);
  // A provisioning-v2 node, by its management Node's steve id (`c-m-…/machine-…`): the kubelet's word.
  if (typeName === 'node' && body.id.includes('/'))
    return setKubeletCondition(world, body.id, condition, ctx);
  if (typeName === 'node' && KUBELET_ONLY.has(condition.type))
    return setRke1KubeletCondition(world, body.id, condition, ctx);
  const type = world.typeForPath(typeName);
  if (!type) throw new ApiError(400, 'BadRequest', `${typeName} is not served by Rancher ${world.version}`);
  const object = type.find(body.id);
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

/**
 * Conditions the kubelet (or the CNI) reports on a Kubernetes Node that Rancher's node syncer does
 * not copy into its node objects (`cleanStatus` in rancher/rancher
 * `pkg/controllers/managementuser/nodesyncer/nodessyncer.go` keeps only Ready).
 */
const KUBELET_ONLY = new Set(['NetworkUnavailable', 'MemoryPressure', 'DiskPressure', 'PIDPressure']);

/** A kubelet condition of an RKE1 node's downstream Node; answers the v3 node, which it leaves as it was. */
function setRke1KubeletCondition(
  world: World,
  id: string,
  condition: Record<string, unknown>,
  ctx: RequestContext,
): SimResponse {
  const nodes = world.nodes;
  const node = nodes.find(id);
  const reported = nodes.setKubeletCondition(
    node,
    String(condition.type),
    condition.status as ConditionStatus,
    typeof condition.message === 'string' ? condition.message : '',
    typeof condition.reason === 'string' ? condition.reason : '',
  );
  if (!reported) {
    throw new ApiError(409, 'Conflict', `node ${id} has not registered with Kubernetes: it has no Node yet`);
  }
  return json(200, renderResource(nodes, node, ctx));
}

/** A kubelet condition of a provisioning-v2 node; answers its management Node as steve renders it. */
function setKubeletCondition(
  world: World,
  id: string,
  condition: Record<string, unknown>,
  ctx: RequestContext,
): SimResponse {
  const node = world.steve.managementNodes.setKubeletCondition(
    id,
    String(condition.type),
    condition.status as ConditionStatus,
    typeof condition.message === 'string' ? condition.message : '',
    typeof condition.reason === 'string' ? condition.reason : '',
  );
  if (!node) throw new ApiError(404, 'NotFound', `nodes.management.cattle.io "${id}" not found`);
  return json(200, render(world, world.steve.get(MANAGEMENT_NODE), node, ctx));
}

/** The same for a steve object: a controller status write (resourceVersion moves), then a reconcile. */
function setSteveCondition(
  world: World,
  schemaId: string,
  id: string,
  condition: Record<string, unknown>,
  ctx: RequestContext,
): SimResponse {
  const schema = world.steve.get(schemaId);
  const [namespace, name, extra] = id.split('/');
  const current = name && extra === undefined ? world.local.get(schemaId, namespace, name) : undefined;
  if (!current) throw new ApiError(404, 'NotFound', `${schema.resource}.${schema.group} "${id}" not found`);
  const next = clone(current);
  const status = (next.status = isPlainObject(next.status) ? next.status : {}) as Record<string, unknown>;
  const conditions = (status.conditions = Array.isArray(status.conditions) ? status.conditions : []);
  setCondition(
    conditions as Condition[],
    String(condition.type),
    condition.status as ConditionStatus,
    typeof condition.message === 'string' ? condition.message : '',
    typeof condition.reason === 'string' ? condition.reason : '',
  );
  const stored = world.local.write('MODIFIED', schemaId, next);
  if (schemaId === MACHINE) world.steve.provisioning.reconcileMachine(stored);
  else world.steve.provisioning.reconcileByName(namespace, name);
  const latest = world.local.get(schemaId, namespace, name) ?? stored;
  return json(200, render(world, schema, latest, ctx));
}
