/**
 * Kubernetes versions: users write `v1.31.9` or `v1.31` (the newest patch); each backend kind
 * spells them its own way (`v1.31.9-rancher1-1` on rke1, `v1.31.9+rke2r1` or `v1.31.9+k3s1` on
 * rke2). These pure functions map one to the other from the list a backend's probe found.
 */

const PLAIN = /^v(\d+)\.(\d+)\.(\d+)/;
const WANTED = /^v(\d+)\.(\d+)(?:\.(\d+))?$/;

/** `v1.31.9+rke2r1` → `v1.31.9`; null when it is not a version. */
export function plainVersion(version: string): string | null {
  const m = PLAIN.exec(version);
  return m ? `v${m[1]}.${m[2]}.${m[3]}` : null;
}

/** Numbers of a version, suffix included, for ordering (`v1.31.9+rke2r2` → [1, 31, 9, 2]). */
function rank(version: string): number[] {
  return (version.match(/\d+/g) ?? []).map(Number);
}

function compare(a: string, b: string): number {
  const x = rank(a);
  const y = rank(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The backend's spelling of `wanted` (`v1.31.9` or `v1.31`): the newest offered version with that
 * patch (or minor), its newest build. When the backend's list is unknown (empty), a full version
 * passes with `suffixWhenUnknown` appended and a minor cannot be resolved.
 */
export function resolveKubernetesVersion(
  offered: readonly string[],
  wanted: string,
  suffixWhenUnknown: string,
): string | null {
  const m = WANTED.exec(wanted);
  if (!m) return null;
  if (offered.length === 0) return m[3] === undefined ? null : `${wanted}${suffixWhenUnknown}`;
  const matching = offered.filter((v) => {
    const p = PLAIN.exec(v);
    return p !== null && p[1] === m[1] && p[2] === m[2] && (m[3] === undefined || p[3] === m[3]);
  });
  return matching.sort(compare).at(-1) ?? null;
}

/** The plain versions a backend offers, newest first, each once. */
export function plainVersions(offered: readonly string[]): string[] {
  const plain = new Set(offered.map(plainVersion).filter((v): v is string => v !== null));
  return [...plain].sort((a, b) => compare(b, a));
}

/**
 * `wanted` in the spelling of a backend of `kind` that offers `offered`, or null when it does not
 * offer it. rke2 backends are asked for RKE2 (a K3s spelling only when it is all they offer).
 */
export function backendVersionOf(
  kind: 'rke1' | 'rke2',
  offered: readonly string[],
  wanted: string,
): string | null {
  if (kind === 'rke1') return resolveKubernetesVersion(offered, wanted, '');
  return resolveKubernetesVersion(offeredFor('rke2', offered), wanted, '+rke2r1');
}

/** `[major, minor, patch]` of a version in any spelling (`v1.31.9+rke2r1` → [1, 31, 9]); null if none. */
export function versionParts(version: string): [number, number, number] | null {
  const m = PLAIN.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** Orders two versions by major, minor, patch (the build suffix is ignored): < 0, 0 or > 0. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * The versions a backend of `kind` offers to clusters Paddock makes there, as `backendVersionOf`
 * chooses among them (rke2: the RKE2 releases, K3s only when there are none).
 */
export function offeredFor(kind: 'rke1' | 'rke2', offered: readonly string[]): readonly string[] {
  if (kind === 'rke1') return offered;
  const rke2 = offered.filter((v) => v.includes('+rke2'));
  return rke2.length > 0 ? rke2 : offered;
}

/**
 * A probe's list with the backend's default for new clusters first (a backend row stores the list
 * in this order, so `GET /v1/kubernetes-versions` can tell the default without asking again).
 * A default the list does not hold is not added: only listed versions are offered.
 */
export function defaultFirst(
  offered: readonly string[],
  defaultVersion: string | null | undefined,
): string[] {
  if (!defaultVersion || !offered.includes(defaultVersion)) return [...offered];
  return [defaultVersion, ...offered.filter((v) => v !== defaultVersion)];
}
