import { generateName } from '../ids';
import { ApiError, isPlainObject, missingRequired } from '../http';
import { clone, mergeProtectedMap, stringMap } from '../merge';
import type { SimObject } from '../store';
import type { World } from '../world';
import { ResourceType, type RequestContext } from './resource-type';

/** Where norman stores every credential (`namespace.GlobalNamespace`, rancher-212.md §5.1). */
const NAMESPACE = 'cattle-global-data';
/** Password-typed fields of the credential schemas: stored, never shown. */
const SECRET_FIELDS = new Set(['secretKey', 'password', 'apiKey', 'accessToken', 'token', 'clientSecret']);

/**
 * `/v3/cloudcredentials` (rancher-212.md §5.1): one `<driver>credentialConfig` block, id
 * `cattle-global-data:cc-xxxxx`, secret fields never rendered, and no delete while a provisioning
 * cluster references it.
 */
export class CloudCredentialType extends ResourceType {
  constructor(world: World) {
    super(world, {
      schemaId: 'cloudCredential',
      plural: 'cloudCredentials',
      scoped: false,
      filters: ['name'],
    });
  }

  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const configs = Object.keys(body).filter(
      (key) => key.endsWith('credentialConfig') && isPlainObject(body[key]),
    );
    if (configs.length === 0) throw missingRequired(undefined, 'a Config field must be set');
    const id = `${NAMESPACE}:${generateName('cc-', (candidate) => this.table.has(`${NAMESPACE}:${candidate}`))}`;
    const name = typeof body.name === 'string' ? body.name : '';
    const fields: Record<string, unknown> = {};
    for (const key of configs) fields[key] = clone(body[key]);
    const object = this.world.newObject('cloudCredential', id, name, fields);
    object.labels = stringMap(body.labels);
    Object.assign(object.annotations, stringMap(body.annotations), { 'field.cattle.io/name': name });
    this.table.add(object);
    return object;
  }

  override update(
    object: SimObject,
    body: Record<string, unknown>,
    _replace: boolean,
    _ctx: RequestContext,
  ): void {
    for (const key of Object.keys(body)) {
      if (key.endsWith('credentialConfig') && isPlainObject(body[key])) {
        object.fields[key] = { ...(object.fields[key] as Record<string, unknown>), ...clone(body[key]) };
      }
    }
    if (typeof body.name === 'string') object.name = body.name;
    object.labels = mergeProtectedMap(object.labels, body.labels);
    object.annotations = mergeProtectedMap(object.annotations, body.annotations);
  }

  override remove(object: SimObject): void {
    const user = this.world.steve.provisioning.clusterUsingCredential(object.id);
    if (user) {
      throw new ApiError(
        422,
        'InvalidAction',
        `Cloud credential is currently referenced by provisioning cluster ${user}`,
      );
    }
    // A secret has no finalizer: it goes at once.
    this.markRemoved(object);
    this.finishRemove(object);
  }

  override renderFields(object: SimObject, ctx: RequestContext): Record<string, unknown> {
    const out = super.renderFields(object, ctx);
    for (const [key, value] of Object.entries(out)) {
      if (!key.endsWith('credentialConfig') || !isPlainObject(value)) continue;
      out[key] = Object.fromEntries(Object.entries(value).filter(([field]) => !SECRET_FIELDS.has(field)));
    }
    return out;
  }
}
