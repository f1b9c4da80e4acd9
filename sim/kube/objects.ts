/**
 * Turning a request body into a stored object the way the apiserver's decoding and validation do:
 * kind and namespace checks, `generateName`, DNS-1123 names, string maps; server-owned metadata
 * (uid, creationTimestamp, resourceVersion) always comes from the server.
 */
import { randomChars, uuid } from '../ids';
import { k8sTime } from '../resources/resource-type';
import { badRequest, invalid } from './status';
import type { KubeObject, ObjectMeta } from './store';

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const SUBDOMAIN = `${LABEL}(\\.${LABEL})*`;
const LABEL_RE = new RegExp(`^${LABEL}$`);
const SUBDOMAIN_RE = new RegExp(`^${SUBDOMAIN}$`);
const CONFIGMAP_KEY_RE = /^[-._a-zA-Z0-9]+$/;

/** Names are DNS-1123 labels for namespaces and DNS-1123 subdomains for everything else. */
export type NameRule = 'label' | 'subdomain';

/** Parses a JSON body that must be an object of `kind` (an absent kind is accepted, as kubectl's never is). */
export function parseBody(raw: string, kind: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): ${(error as Error).message}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
  }
  const object = value as Record<string, unknown>;
  if (object.kind !== undefined && object.kind !== kind) {
    throw badRequest(
      `the object provided is unrecognized (must be of type ${kind}): kind ${String(object.kind)}`,
    );
  }
  if (object.apiVersion !== undefined && object.apiVersion !== 'v1') {
    throw badRequest(
      `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (v1)`,
    );
  }
  return object;
}

/**
 * Metadata of a new object: the name (or one made from `generateName`), labels and annotations
 * from the body, and the server's own fields. `namespace` is undefined for cluster-scoped kinds.
 */
export function newMetadata(
  kind: string,
  body: Record<string, unknown>,
  namespace: string | undefined,
  rule: NameRule,
): ObjectMeta {
  const given = metadataOf(body);
  checkNamespace(given, namespace);
  let name = typeof given.name === 'string' ? given.name : '';
  const generateName = typeof given.generateName === 'string' ? given.generateName : undefined;
  if (name === '' && generateName) name = generateName + randomChars(5);
  if (name === '') {
    throw invalid(kind, '', 'metadata.name', 'Required value: name or generateName is required');
  }
  checkName(kind, name, rule);
  const metadata: ObjectMeta = { name, uid: uuid(), resourceVersion: '', creationTimestamp: k8sTime() };
  if (namespace !== undefined) metadata.namespace = namespace;
  if (generateName) metadata.generateName = generateName;
  copyMaps(kind, name, given, metadata);
  return metadata;
}

/**
 * Metadata of a replacement (PUT): the body's labels and annotations over the stored object's
 * server-owned fields. The name must match the URL's.
 */
export function updatedMetadata(
  kind: string,
  body: Record<string, unknown>,
  current: KubeObject,
): ObjectMeta {
  const given = metadataOf(body);
  checkNamespace(given, current.metadata.namespace);
  if (given.name !== undefined && given.name !== current.metadata.name) {
    throw badRequest(
      `the name of the object (${String(given.name)}) does not match the name on the URL (${current.metadata.name})`,
    );
  }
  const { labels: _labels, annotations: _annotations, ...kept } = current.metadata;
  const metadata: ObjectMeta = { ...kept };
  copyMaps(kind, current.metadata.name, given, metadata);
  return metadata;
}

/** The body's `metadata.resourceVersion` as a number, or undefined for an unconditional update. */
export function requestedVersion(body: Record<string, unknown>): number | undefined {
  const value = metadataOf(body).resourceVersion;
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d+$/.test(value)) {
    throw badRequest(
      `metadata.resourceVersion: Invalid value: ${JSON.stringify(value)}: must be a decimal string`,
    );
  }
  return Number(value);
}

/** `data` and `binaryData` of a ConfigMap, checked as the type's validation does. */
export function configMapPayload(body: Record<string, unknown>, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of ['data', 'binaryData'] as const) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    const map = stringMap(value, `ConfigMap.${field}`);
    for (const key of Object.keys(map)) {
      if (key.length > 253 || !CONFIGMAP_KEY_RE.test(key)) {
        throw invalid(
          'ConfigMap',
          name,
          `${field}[${key}]`,
          `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
        );
      }
    }
    out[field] = map;
  }
  if (body.immutable !== undefined) {
    if (typeof body.immutable !== 'boolean') throw decodeError('ConfigMap.immutable', 'bool', body.immutable);
    out.immutable = body.immutable;
  }
  return out;
}

export function checkName(kind: string, name: string, rule: NameRule): void {
  const [pattern, max, what, example] =
    rule === 'label'
      ? [LABEL_RE, 63, 'RFC 1123 label', "'my-name',  or '123-abc'"]
      : [SUBDOMAIN_RE, 253, 'RFC 1123 subdomain', "'example.com'"];
  if (name.length > max) {
    throw invalid(
      kind,
      name,
      'metadata.name',
      `Invalid value: "${name}": must be no more than ${max} characters`,
    );
  }
  if (!pattern.test(name)) {
    const chars =
      rule === 'label'
        ? "lower case alphanumeric characters or '-'"
        : "lower case alphanumeric characters, '-' or '.'";
    throw invalid(
      kind,
      name,
      'metadata.name',
      `Invalid value: "${name}": a lowercase ${what} must consist of ${chars}, and must start and end with an alphanumeric character (e.g. ${example}, regex used for validation is '${rule === 'label' ? LABEL : SUBDOMAIN}')`,
    );
  }
}

function metadataOf(body: Record<string, unknown>): Record<string, unknown> {
  const metadata = body.metadata;
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata))
    throw decodeError('ObjectMeta', 'object', metadata);
  return metadata as Record<string, unknown>;
}

function checkNamespace(given: Record<string, unknown>, namespace: string | undefined): void {
  if (namespace === undefined || given.namespace === undefined || given.namespace === '') return;
  if (given.namespace !== namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
}

function copyMaps(kind: string, name: string, given: Record<string, unknown>, metadata: ObjectMeta): void {
  for (const field of ['labels', 'annotations'] as const) {
    const value = given[field];
    if (value === undefined || value === null) continue;
    const map = stringMap(value, `ObjectMeta.${field}`);
    if (field === 'labels') {
      for (const [key, label] of Object.entries(map)) {
        if (label.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(label)) {
          throw invalid(
            kind,
            name,
            `metadata.labels`,
            `Invalid value: "${label}": a valid label value for ${key} must be 63 characters or less, and must be empty or begin and end with an alphanumeric character`,
          );
        }
      }
    }
    if (Object.keys(map).length > 0) metadata[field] = map;
  }
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw decodeError(field, 'map[string]string', value);
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw decodeError(`${field}`, 'string', item);
    out[key] = item;
  }
  return out;
}

/** The 400 a Go JSON decode of a wrongly typed field ends in. */
function decodeError(field: string, goType: string, value: unknown): Error {
  const jsonType = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  return badRequest(`json: cannot unmarshal ${jsonType} into Go struct field ${field} of type ${goType}`);
}
