/**
 * PATCH bodies. kubectl label/annotate/edit send strategic merge patches; for the simulated kinds
 * (string maps, no lists of objects) a strategic merge patch means the same as a JSON merge patch
 * (RFC 7386), so both are applied that way. JSON patch and server-side apply are not offered.
 */
import { parseBody } from './objects';
import { KubeError } from './status';
import type { KubeObject } from './store';

const MERGE_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json'];

/**
 * The object `current` becomes under the patch, as a request body: it keeps a resourceVersion
 * precondition only if the patch itself states one.
 */
export function applyMergePatch(
  current: KubeObject,
  contentType: string | undefined,
  raw: string,
): Record<string, unknown> {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (!MERGE_TYPES.includes(type)) {
    throw new KubeError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${MERGE_TYPES.join(', ')}`,
    );
  }
  const patch = parseBody(raw, current.kind);
  const merged = merge(current, patch) as Record<string, unknown>;
  // A copy: without `metadata` in the patch, the merged object still shares the stored one's.
  const metadata = { ...(merged.metadata as Record<string, unknown>) };
  merged.metadata = metadata;
  const patchMetadata = patch.metadata as Record<string, unknown> | undefined;
  if (patchMetadata?.resourceVersion === undefined) delete metadata.resourceVersion;
  return merged;
}

/** RFC 7386: objects merge key by key, `null` deletes, anything else replaces. */
export function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
