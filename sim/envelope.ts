import type { RequestContext, ResourceType } from './resources/resource-type';
import type { SimObject } from './store';

/** The norman resource envelope (§2.1): framework keys around the type's own fields. */
export function renderResource(
  type: ResourceType,
  object: SimObject,
  ctx: RequestContext,
): Record<string, unknown> {
  const summary = type.summary(object);
  const self = type.resourceUrl(ctx, object.id);
  const links: Record<string, string> = { self };
  if (type.canUpdate) links.update = self;
  if (type.canRemove) links.remove = self;
  Object.assign(links, type.links(object, ctx));
  const actions: Record<string, string> = {};
  for (const name of type.actions(object)) actions[name] = `${self}?action=${name}`;

  const out = type.renderFields(object, ctx);
  out.id = object.id;
  out.type = type.schemaId;
  out.baseType = type.schemaId;
  out.name = object.name;
  out.uuid = object.uuid;
  out.created = object.created;
  out.createdTS = object.createdTS;
  out.creatorId = object.annotations['field.cattle.io/creatorId'] ?? null;
  out.labels = object.labels;
  out.annotations = object.annotations;
  out.state = summary.state;
  out.transitioning = summary.transitioning;
  out.transitioningMessage = summary.transitioningMessage;
  Object.assign(out, type.renderConditions(object));
  out.links = links;
  out.actions = actions;
  if (type.scoped) out.namespaceId = null;
  if (object.removed !== undefined) {
    out.removed = object.removed;
    out.removedTS = object.removedTS;
  }
  return out;
}
