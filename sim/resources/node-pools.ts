import { generateName } from '../ids';
import { ApiError, invalidReference } from '../http';
import { clone, deepMerge, mergeProtectedMap, stringMap } from '../merge';
import { firstFreeHostname, naturalCompare } from '../naming';
import { conditionStatus, setCondition } from '../state';
import type { SimObject } from '../store';
import { servesRke1 } from '../version';
import type { World } from '../world';
import { requireString, ResourceType, type RequestContext } from './resource-type';

/** `NodePoolSpec` fields a PUT may change; `clusterId` is noupdate (§4.2). */
const UPDATABLE = [
  'nodeTemplateId',
  'hostnamePrefix',
  'quantity',
  'etcd',
  'controlPlane',
  'worker',
  'deleteNotReadyAfterSecs',
  'drainBeforeDelete',
  'nodeTaints',
  'nodeLabels',
  'nodeAnnotations',
  'displayName',
];
const MAP_FIELDS = new Set(['nodeLabels', 'nodeAnnotations']);
/** What `_replace=true` resets an omitted field to; the required references stay (§2.9). */
const DEFAULTS: Record<string, unknown> = {
  quantity: 1,
  etcd: false,
  controlPlane: false,
  worker: false,
  deleteNotReadyAfterSecs: 0,
  drainBeforeDelete: false,
  nodeTaints: [],
  nodeLabels: {},
  nodeAnnotations: {},
  displayName: '',
};
const ROLES = ['etcd', 'controlPlane', 'worker'] as const;

export class NodePoolType extends ResourceType {
  protected override readonly conditionsInStatus = true;

  constructor(world: World) {
    super(world, {
      schemaId: 'nodePool',
      plural: 'nodePools',
      scoped: true,
      filters: [
        'name',
        'clusterId',
        'nodeTemplateId',
        'hostnamePrefix',
        'displayName',
        'etcd',
        'controlPlane',
        'worker',
      ],
      indexed: ['clusterId', 'nodeTemplateId'],
    });
  }

  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const clusterId = requireString(body, 'clusterId');
    const nodeTemplateId = requireString(body, 'nodeTemplateId');
    const hostnamePrefix = requireString(body, 'hostnamePrefix');
    const quantity = body.quantity === undefined || body.quantity === null ? 1 : validQuantity(body.quantity);
    validDeleteNotReadyAfterSecs(body.deleteNotReadyAfterSecs);
    const cluster = this.world.clusters.table.get(clusterId);
    if (!cluster) throw invalidReference('clusterId', 'cluster', clusterId);
    const rke1 = servesRke1(this.world.rancher);
    // 2.12–2.14 keep the schema and its plain CRD store: no reference check, no controller (rancher-212.md §1.3).
    if (rke1 && !this.world.nodeTemplates.table.has(nodeTemplateId)) {
      throw invalidReference('nodeTemplateId', 'nodeTemplate', nodeTemplateId);
    }
    if (cluster.removed !== undefined) {
      throw forbidden(
        `nodepools.management.cattle.io is forbidden: unable to create new content in namespace ${clusterId} ` +
          'because it is being terminated',
      );
    }
    // The per-cluster roles are not there yet: k8s RBAC refuses the create (§11.9).
    if (!this.world.clusters.rolesPopulated(cluster)) {
      throw forbidden(
        `nodepools.management.cattle.io is forbidden: User "${this.world.userId}" cannot create resource ` +
          `"nodepools" in API group "management.cattle.io" in the namespace "${clusterId}"`,
      );
    }

    const pool = this.build(cluster, body, { nodeTemplateId, hostnamePrefix, quantity });
    this.table.add(pool);
    if (!rke1) return pool;
    setCondition(pool.conditions, 'Updated', 'Unknown');
    this.requestSync(pool);
    return pool;
  }

  /** An already-reconciled pool with active nodes, for `/__sim/seed`. */
  createActive(
    cluster: SimObject,
    nodeTemplateId: string,
    hostnamePrefix: string,
    quantity: number,
    roles: readonly string[],
  ): SimObject {
    const body: Record<string, unknown> = {};
    for (const role of roles) body[role] = true;
    const pool = this.build(cluster, body, { nodeTemplateId, hostnamePrefix, quantity });
    setCondition(pool.conditions, 'Updated', 'True');
    this.table.add(pool);
    const taken = new Set<string>();
    for (let i = 0; i < quantity; i++) {
      const hostname = firstFreeHostname(hostnamePrefix, taken);
      taken.add(hostname);
      this.world.nodes.createActive(pool, hostname);
    }
    return pool;
  }

  private build(
    cluster: SimObject,
    body: Record<string, unknown>,
    required: { nodeTemplateId: string; hostnamePrefix: string; quantity: number },
  ): SimObject {
    const id = generateName(`${cluster.id}:np-`, (candidate) => this.table.has(candidate));
    const fields: Record<string, unknown> = {
      clusterId: cluster.id,
      ...required,
      etcd: body.etcd === true,
      controlPlane: body.controlPlane === true,
      worker: body.worker === true,
      deleteNotReadyAfterSecs:
        typeof body.deleteNotReadyAfterSecs === 'number' ? body.deleteNotReadyAfterSecs : 0,
      drainBeforeDelete: body.drainBeforeDelete === true,
      nodeTaints: Array.isArray(body.nodeTaints) ? clone(body.nodeTaints) : [],
      nodeLabels: stringMap(body.nodeLabels),
      nodeAnnotations: stringMap(body.nodeAnnotations),
      displayName: typeof body.displayName === 'string' ? body.displayName : '',
    };
    const pool = this.world.newObject('nodePool', id, typeof body.name === 'string' ? body.name : '', fields);
    pool.labels = stringMap(body.labels);
    Object.assign(pool.annotations, stringMap(body.annotations));
    return pool;
  }

  override update(
    pool: SimObject,
    body: Record<string, unknown>,
    replace: boolean,
    _ctx: RequestContext,
  ): void {
    for (const field of ['nodeTemplateId', 'hostnamePrefix']) {
      if (field in body && (typeof body[field] !== 'string' || body[field] === '')) {
        throw new ApiError(422, 'NotNullable', '', field);
      }
    }
    if (body.quantity !== undefined && body.quantity !== null) validQuantity(body.quantity);
    validDeleteNotReadyAfterSecs(body.deleteNotReadyAfterSecs);
    const nodeTemplateId = body.nodeTemplateId;
    if (typeof nodeTemplateId === 'string' && !this.world.nodeTemplates.table.has(nodeTemplateId)) {
      throw invalidReference('nodeTemplateId', 'nodeTemplate', nodeTemplateId);
    }
    const before = JSON.stringify(pool.fields);
    if (replace) {
      for (const [field, value] of Object.entries(DEFAULTS))
        if (!(field in body)) pool.fields[field] = clone(value);
    }
    for (const field of UPDATABLE) {
      if (body[field] === undefined) continue;
      const value = replace
        ? clone(body[field])
        : deepMerge(pool.fields[field], body[field], MAP_FIELDS, field);
      pool.fields[field] = value ?? DEFAULTS[field];
    }
    if (typeof body.name === 'string') pool.name = body.name;
    pool.labels = mergeProtectedMap(pool.labels, body.labels);
    pool.annotations = mergeProtectedMap(pool.annotations, body.annotations);
    if (JSON.stringify(pool.fields) === before) return;
    // Role changes are pushed to existing nodes (§4.2).
    for (const node of this.world.nodes.table.where('nodePoolId', pool.id)) {
      for (const role of ROLES) node.fields[role] = pool.fields[role] === true;
    }
    setCondition(pool.conditions, 'Updated', 'Unknown');
    this.requestSync(pool);
  }

  override remove(pool: SimObject): void {
    if (pool.removed !== undefined) return;
    super.remove(pool);
    for (const node of this.world.nodes.table.where('nodePoolId', pool.id)) this.world.nodes.remove(node);
  }

  /** The pool controller's next pass (§4.2); a burst of changes collapses into one. */
  requestSync(pool: SimObject): void {
    // No node-pool controller exists from 2.12 on.
    if (!servesRke1(this.world.rancher)) return;
    this.world.scheduler.ensure(`${pool.id}#sync`, this.world.timings.poolReconcileMs, () => this.sync(pool));
  }

  override reconcile(pool: SimObject): void {
    this.requestSync(pool);
  }

  /**
   * Keeps exactly `quantity` live nodes: adds the first free hostnames, removes the naturally
   * highest ones. Names of nodes still being removed stay taken until they are gone.
   */
  private sync(pool: SimObject): void {
    if (!this.isLive(pool)) return;
    const cluster = this.world.clusters.table.get(pool.fields.clusterId as string);
    if (!cluster || cluster.removed !== undefined) return;
    const nodes = this.world.nodes.table.where('nodePoolId', pool.id);
    const live = nodes.filter((node) => node.removed === undefined);
    // A changed `deleteNotReadyAfterSecs` applies to nodes that are unreachable already.
    for (const node of live) this.world.nodes.watchReadiness(node);
    const quantity = pool.fields.quantity as number;
    if (live.length < quantity) {
      const taken = new Set(nodes.map((node) => node.fields.requestedHostname as string));
      for (let i = live.length; i < quantity; i++) {
        const hostname = firstFreeHostname(pool.fields.hostnamePrefix as string, taken);
        taken.add(hostname);
        this.world.nodes.createForPool(pool, hostname);
      }
    } else if (live.length > quantity) {
      live.sort((a, b) =>
        naturalCompare(b.fields.requestedHostname as string, a.fields.requestedHostname as string),
      );
      for (const node of live.slice(0, live.length - quantity)) this.world.nodes.remove(node);
    }
    if (conditionStatus(pool.conditions, 'Updated') === 'Unknown')
      setCondition(pool.conditions, 'Updated', 'True');
  }

  /** The `scaledown` node action: that node goes and the pool shrinks by one (§4.3). */
  scaleDown(pool: SimObject, node: SimObject): void {
    pool.fields.quantity = Math.max(0, (pool.fields.quantity as number) - 1);
    this.world.nodes.remove(node);
    setCondition(pool.conditions, 'Updated', 'Unknown');
    this.requestSync(pool);
  }

  override renderFields(pool: SimObject, ctx: RequestContext): Record<string, unknown> {
    const template = this.world.nodeTemplates.table.get(pool.fields.nodeTemplateId as string);
    const out = super.renderFields(pool, ctx);
    out.driver = (template?.fields.driver as string | undefined) ?? '';
    return out;
  }

  override links(pool: SimObject, ctx: RequestContext): Record<string, string> {
    return { nodes: `${ctx.baseUrl}/v3/nodes?nodePoolId=${pool.id}` };
  }
}

function validQuantity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ApiError(
      422,
      'InvalidFormat',
      `InvalidFormat 422: invalid value ${JSON.stringify(value)}`,
      'quantity',
    );
  }
  if (value < 0) throw new ApiError(422, 'MinLimitExceeded', '', 'quantity');
  return value;
}

/** `norman:"default=0,max=31540000,min=0"` on `deleteNotReadyAfterSecs` (rancher-212.md §3.4). */
function validDeleteNotReadyAfterSecs(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ApiError(
      422,
      'InvalidFormat',
      `InvalidFormat 422: invalid value ${JSON.stringify(value)}`,
      'deleteNotReadyAfterSecs',
    );
  }
  if (value < 0) throw new ApiError(422, 'MinLimitExceeded', '', 'deleteNotReadyAfterSecs');
  if (value > 31_540_000) throw new ApiError(422, 'MaxLimitExceeded', '', 'deleteNotReadyAfterSecs');
}

function forbidden(message: string): ApiError {
  return new ApiError(403, 'Forbidden', message);
}
