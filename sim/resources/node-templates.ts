import { generateName } from '../ids';
import { isPlainObject, methodNotAllowed, missingRequired } from '../http';
import { clone, deepMerge, mergeProtectedMap, stringMap } from '../merge';
import type { SimObject } from '../store';
import type { World } from '../world';
import { ResourceType, type RequestContext } from './resource-type';

const NAMESPACE = 'cattle-global-nt';

/** `NodeTemplateSpec` / `NodeCommonParams` fields a client may write (§4.1). */
const WRITABLE = [
  'description',
  'cloudCredentialId',
  'authCertificateAuthority',
  'authKey',
  'dockerVersion',
  'engineEnv',
  'engineInsecureRegistry',
  'engineInstallURL',
  'engineLabel',
  'engineOpt',
  'engineRegistryMirror',
  'engineStorageDriver',
  'logOpt',
  'storageOpt',
  'nodeTaints',
];
const MAP_FIELDS = new Set(['engineEnv', 'engineLabel', 'engineOpt', 'logOpt', 'storageOpt']);

/** The driver block is the first `<driver>Config` key holding an object (§4.1). */
function driverConfigKey(body: Record<string, unknown>): string | undefined {
  return Object.keys(body).find((key) => /^[a-z][A-Za-z0-9]*Config$/.test(key) && isPlainObject(body[key]));
}

export class NodeTemplateType extends ResourceType {
  constructor(world: World) {
    super(world, {
      schemaId: 'nodeTemplate',
      plural: 'nodeTemplates',
      scoped: false,
      filters: ['name', 'driver', 'cloudCredentialId'],
    });
  }

  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const configKey = driverConfigKey(body);
    if (!configKey) throw missingRequired(undefined, 'a Config field must be set');
    const driver = configKey.slice(0, -'Config'.length);
    const id = generateName(`${NAMESPACE}:nt-`, (candidate) => this.table.has(candidate));
    const fields: Record<string, unknown> = {
      driver,
      useInternalIpAddress: typeof body.useInternalIpAddress === 'boolean' ? body.useInternalIpAddress : true,
      nodeTaints: [],
      [configKey]: clone(body[configKey]),
    };
    for (const field of WRITABLE) if (body[field] !== undefined) fields[field] = clone(body[field]);
    const object = this.world.newObject(
      'nodeTemplate',
      id,
      typeof body.name === 'string' ? body.name : '',
      fields,
    );
    object.labels = stringMap(body.labels);
    Object.assign(object.annotations, stringMap(body.annotations));
    this.table.add(object);
    return object;
  }

  override update(
    object: SimObject,
    body: Record<string, unknown>,
    replace: boolean,
    _ctx: RequestContext,
  ): void {
    const configKey = `${object.fields.driver as string}Config`;
    const updatable = [...WRITABLE, configKey];
    if (replace) for (const field of updatable) if (!(field in body)) delete object.fields[field];
    for (const field of updatable) {
      if (body[field] === undefined) continue;
      object.fields[field] = replace
        ? clone(body[field])
        : deepMerge(object.fields[field], body[field], MAP_FIELDS, field);
    }
    if (typeof body.name === 'string') object.name = body.name;
    object.labels = mergeProtectedMap(object.labels, body.labels);
    object.annotations = mergeProtectedMap(object.annotations, body.annotations);
  }

  /** Refuses while a pool or node still uses the template (§4.1, `store/nodetemplate`). */
  override remove(object: SimObject): void {
    if (this.world.nodePools.table.where('nodeTemplateId', object.id).length > 0) {
      throw methodNotAllowed('Template is in use by a node pool.');
    }
    if (this.world.nodes.table.where('nodeTemplateId', object.id).length > 0) {
      throw methodNotAllowed('Template is in use by a node.');
    }
    super.remove(object);
  }
}
