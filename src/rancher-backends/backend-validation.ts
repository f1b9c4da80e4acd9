/**
 * The checks on a backend's registration and update body that class-validator cannot describe:
 * flavor names, each flavor's shape for its backend kind (an rke1 node template id, an rke2 machine
 * config), labels, and the rke2-only cloud credential. Pure: a bad body throws a 400 problem.
 */
import { badRequest, FieldProblem } from '../common/problem';
import type { FlavorDto } from './backend.dto';
import type { BackendKind } from './backend-driver';

const FLAVOR_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const NODE_TEMPLATE_ID = /^[a-z0-9][a-z0-9.-]*:[a-z0-9][a-z0-9.-]*$/;
/** A node driver's machine-config kind (rancher-api.md §9.2): `OpenstackConfig`, `Amazonec2Config`, … */
const MACHINE_CONFIG_KIND = /^[A-Z][A-Za-z0-9]{0,62}Config$/;
/** Machine-config fields Paddock sets itself: a template may not carry them. */
const RESERVED_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'id', 'type', 'links', 'status']);

/** One flavor's problem for its backend kind, or null. */
function flavorProblem(kind: BackendKind, flavor: unknown): FieldProblem | null {
  const f = (flavor ?? {}) as { nodeTemplateId?: unknown; machineConfig?: unknown };
  const keys = typeof flavor === 'object' && flavor !== null ? Object.keys(flavor) : [];
  if (kind === 'rke1') {
    const id = f.nodeTemplateId;
    return typeof id === 'string' && NODE_TEMPLATE_ID.test(id) && keys.length === 1
      ? null
      : {
          field: 'nodeTemplateId',
          message: 'each rke1 flavor is {"nodeTemplateId": "cattle-global-nt:nt-xxxxx"}',
        };
  }
  const mc = f.machineConfig as { kind?: unknown; fields?: unknown } | undefined;
  const fields = mc?.fields;
  const ok =
    keys.length === 1 &&
    typeof mc === 'object' &&
    mc !== null &&
    Object.keys(mc).every((k) => k === 'kind' || k === 'fields') &&
    typeof mc.kind === 'string' &&
    MACHINE_CONFIG_KIND.test(mc.kind) &&
    typeof fields === 'object' &&
    fields !== null &&
    !Array.isArray(fields) &&
    Object.keys(fields).every((k) => !RESERVED_FIELDS.has(k));
  return ok
    ? null
    : {
        field: 'machineConfig',
        message:
          'each rke2 flavor is {"machineConfig": {"kind": "OpenstackConfig", "fields": {"flavorName": "m1.large", …}}} ' +
          '(fields may not set apiVersion, kind, metadata)',
      };
}

/** Checks the free-form parts class-validator cannot describe: flavor map keys and values, labels. */
export function validateMaps(
  kind: BackendKind,
  flavors: Record<string, FlavorDto> | undefined,
  labels: Record<string, string> | undefined,
  cloudCredential?: string,
) {
  const problems: FieldProblem[] = [];
  if (kind === 'rke1' && cloudCredential !== undefined) {
    problems.push({ field: 'cloudCredential', message: 'cloudCredential is for rke2 backends only' });
  }
  if (flavors !== undefined && Object.keys(flavors).length === 0) {
    // A backend without flavors could never be placed on; refusing it keeps the registry useful.
    problems.push({ field: 'flavors', message: 'flavors must name at least one flavor' });
  }
  for (const [name, flavor] of Object.entries(flavors ?? {})) {
    if (!FLAVOR_NAME.test(name)) {
      problems.push({
        field: `flavors.${name}`,
        message: 'flavor names are lower-case letters, digits, "." and "-"',
      });
    }
    const problem = flavorProblem(kind, flavor);
    if (problem) problems.push({ field: `flavors.${name}.${problem.field}`, message: problem.message });
  }
  for (const [key, value] of Object.entries(labels ?? {})) {
    if (typeof value !== 'string' || key.length > 253 || value.length > 63) {
      problems.push({
        field: `labels.${key}`,
        message: 'labels map string keys to strings of at most 63 characters',
      });
    }
  }
  if (problems.length > 0)
    throw badRequest(`invalid request: ${problems.map((p) => p.field).join(', ')}`, problems);
}
