/**
 * Hostname rules of the RKE1 node pool controller (§4.2, `nodepool.go` `parsePrefix`, `sort.go`).
 */

export interface HostnamePattern {
  base: string;
  start: number;
  /** Zero-padding width taken from the prefix's trailing digits (`web-01` → 2). */
  width: number;
}

/** `web-` → web-1, web-2…; `web-01` → web-01, web-02…; `web-10` starts at 10. */
export function parsePrefix(prefix: string): HostnamePattern {
  const match = /^(.*?)([0-9]+)$/.exec(prefix);
  if (!match) return { base: prefix, start: 1, width: 1 };
  return { base: match[1], start: Number(match[2]), width: match[2].length };
}

export function hostnameAt(pattern: HostnamePattern, index: number): string {
  return pattern.base + String(index).padStart(pattern.width, '0');
}

/** The first name of the pattern not in `taken`, so names of deleted nodes are reused. */
export function firstFreeHostname(prefix: string, taken: ReadonlySet<string>): string {
  const pattern = parsePrefix(prefix);
  for (let index = pattern.start; ; index++) {
    const name = hostnameAt(pattern, index);
    if (!taken.has(name)) return name;
  }
}

/** Natural order: digit runs compare by value, so `web-10` sorts after `web-9`. */
export function naturalCompare(a: string, b: string): number {
  const partsA = a.match(/\d+|\D+/g) ?? [];
  const partsB = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(partsA.length, partsB.length); i++) {
    const x = partsA[i];
    const y = partsB[i];
    if (x === y) continue;
    const numeric = /^\d/.test(x) && /^\d/.test(y);
    if (numeric && Number(x) !== Number(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return partsA.length - partsB.length;
}
