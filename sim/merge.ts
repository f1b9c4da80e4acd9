import { isPlainObject } from './http';

/**
 * Norman's update semantics (§2.9): nested objects merge key by key, arrays and typed maps
 * (`mapFields`, e.g. `nodeLabels`) are replaced wholesale, `null` clears a field.
 */
export function deepMerge(
  current: unknown,
  patch: unknown,
  mapFields: ReadonlySet<string> = new Set(),
  key = '',
): unknown {
  if (!isPlainObject(current) || !isPlainObject(patch) || mapFields.has(key)) return clone(patch);
  const out: Record<string, unknown> = { ...current };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete out[name];
    else out[name] = deepMerge(current[name], value, mapFields, name);
  }
  return out;
}

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Keys a PUT can neither add, change nor remove (`mergeProtected`, §2.9). */
function isProtected(key: string): boolean {
  return key.includes('cattle.io/') && !key.startsWith('field.cattle.io/');
}

/**
 * Applies a PUT's `labels`/`annotations` map: absent keys are removed except protected ones and
 * `field.cattle.io/*` keys, which survive omission but may be set.
 */
export function mergeProtectedMap(current: Record<string, string>, sent: unknown): Record<string, string> {
  if (!isPlainObject(sent)) return current;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(current)) {
    if (key.includes('cattle.io/')) out[key] = value;
  }
  for (const [key, value] of Object.entries(sent)) {
    if (isProtected(key) || typeof value !== 'string') continue;
    out[key] = value;
  }
  return out;
}

/** A label or annotation map from a create body: only string values survive. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(value)) return out;
  for (const [key, entry] of Object.entries(value)) if (typeof entry === 'string') out[key] = entry;
  return out;
}
