/**
 * The core/v1 resources the simulated apiserver serves. `namespaces` and `configmaps` are stored
 * (writes bump the cluster's resourceVersion and feed watches); `nodes` and `pods` are derived on
 * every read from the simulator's own state and are read-only.
 */
import type { SimObject } from '../store';
import type { World } from '../world';
import { namespaceObject } from './clusters';
import { clusterNodes } from './nodes';
import {
  configMapPayload,
  newMetadata,
  parseBody,
  requestedVersion,
  updatedMetadata,
  type NameRule,
} from './objects';
import { echoPod } from './pods';
import { alreadyExists, conflict, forbidden, notFound, successStatus } from './status';
import type { ClusterObjects, KubeObject } from './store';

export interface KubeContext {
  world: World;
  cluster: SimObject;
  objects: ClusterObjects;
}

export interface ResourceDef {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  /** Stored resources change only through this API, so their watches see every change. */
  stored: boolean;
  nameRule: NameRule;
  /** Every object, in list order; `namespace` narrows namespaced resources. */
  items(ctx: KubeContext, namespace?: string): KubeObject[];
}

const WRITE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const READ_VERBS = ['get', 'list', 'watch'];
/** kube-apiserver refuses to delete these (`pkg/registry/core/namespace` admission). */
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

const stored = (resource: string) => (ctx: KubeContext, namespace?: string) =>
  ctx.objects.list(resource, namespace);

export const RESOURCES: readonly ResourceDef[] = [
  {
    name: 'configmaps',
    singularName: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    verbs: WRITE_VERBS,
    shortNames: ['cm'],
    stored: true,
    nameRule: 'subdomain',
    items: stored('configmaps'),
  },
  {
    name: 'namespaces',
    singularName: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    verbs: WRITE_VERBS,
    shortNames: ['ns'],
    stored: true,
    nameRule: 'label',
    items: stored('namespaces'),
  },
  {
    name: 'nodes',
    singularName: 'node',
    kind: 'Node',
    namespaced: false,
    verbs: READ_VERBS,
    shortNames: ['no'],
    stored: false,
    nameRule: 'subdomain',
    items: (ctx) => clusterNodes(ctx.world, ctx.cluster, String(ctx.objects.resourceVersion)),
  },
  {
    name: 'pods',
    singularName: 'pod',
    kind: 'Pod',
    namespaced: true,
    verbs: READ_VERBS,
    shortNames: ['po'],
    stored: false,
    nameRule: 'subdomain',
    items: (ctx, namespace) => {
      const nodeName = clusterNodes(ctx.world, ctx.cluster, '')[0]?.metadata.name;
      const namespaces = ctx.objects.list('namespaces');
      return namespaces
        .filter((ns) => namespace === undefined || ns.metadata.name === namespace)
        .map((ns) => echoPod(ns, nodeName));
    },
  },
];

export function resourceNamed(name: string): ResourceDef | undefined {
  return RESOURCES.find((def) => def.name === name);
}

export function getObject(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
): KubeObject {
  const object = def.stored
    ? ctx.objects.get(def.name, namespace, name)
    : def.items(ctx, namespace).find((item) => item.metadata.name === name);
  if (!object) throw notFound(def.name, name);
  return object;
}

export function requireNamespace(ctx: KubeContext, namespace: string): void {
  if (!ctx.objects.get('namespaces', undefined, namespace)) throw notFound('namespaces', namespace);
}

export function createObject(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  raw: string,
): KubeObject {
  const body = parseBody(raw, def.kind);
  if (namespace !== undefined) requireNamespace(ctx, namespace);
  const metadata = newMetadata(def.kind, body, namespace, def.nameRule);
  if (ctx.objects.get(def.name, namespace, metadata.name)) throw alreadyExists(def.name, metadata.name);
  const object =
    def.name === 'namespaces'
      ? namespaceObject(
          metadata.name,
          metadata.uid,
          metadata.creationTimestamp,
          metadata.labels,
          metadata.annotations,
        )
      : { kind: def.kind, apiVersion: 'v1', metadata, ...configMapPayload(body, metadata.name) };
  return ctx.objects.write('ADDED', def.name, object);
}

/** PUT: replaces the object; a stale `metadata.resourceVersion` is a 409 Conflict. */
export function replaceObject(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  body: Record<string, unknown>,
): KubeObject {
  const current = getObject(ctx, def, namespace, name);
  const version = requestedVersion(body);
  if (version !== undefined && String(version) !== current.metadata.resourceVersion)
    throw conflict(def.name, name);
  const metadata = updatedMetadata(def.kind, body, current);
  const object =
    def.name === 'namespaces'
      ? namespaceObject(name, metadata.uid, metadata.creationTimestamp, metadata.labels, metadata.annotations)
      : { kind: def.kind, apiVersion: 'v1', metadata, ...configMapPayload(body, name) };
  return ctx.objects.write('MODIFIED', def.name, object);
}

/**
 * DELETE: a configmap answers a success Status; a namespace answers itself, `Terminating`, after
 * everything in it was deleted (the namespace controller's work, done at once here).
 */
export function deleteObject(
  ctx: KubeContext,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
): unknown {
  const current = getObject(ctx, def, namespace, name);
  if (def.name !== 'namespaces') {
    ctx.objects.write('DELETED', def.name, current);
    return successStatus({ name, kind: def.name, uid: current.metadata.uid });
  }
  if (UNDELETABLE_NAMESPACES.has(name))
    throw forbidden('namespaces', name, 'this namespace may not be deleted');
  for (const item of ctx.objects.list('configmaps', name)) ctx.objects.write('DELETED', 'configmaps', item);
  const terminating: KubeObject = {
    ...current,
    metadata: { ...current.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
    status: { phase: 'Terminating' },
  };
  return ctx.objects.write('DELETED', 'namespaces', terminating);
}
