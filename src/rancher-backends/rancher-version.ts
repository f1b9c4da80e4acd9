/** The Rancher minor version a version string names (`v2.12.3` → [2, 12]); null when unreadable. */
export function rancherMinor(version: string): [number, number] | null {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Whether `version` is `major.minor` or later; an unreadable one (`dev`) is taken as the newest. */
export function atLeast(version: string, major: number, minor: number): boolean {
  const m = rancherMinor(version);
  return m === null || m[0] > major || (m[0] === major && m[1] >= minor);
}
