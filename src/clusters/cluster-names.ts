/** Names Paddock gives its objects on Rancher. */

/** Node hostnames of a pool: `<cluster>-<pool>-<n>`, short enough for a DNS label with its number. */
export function hostnamePrefixFor(clusterName: string, poolName: string): string {
  return `${clusterName.slice(0, 30)}-${poolName.slice(0, 24)}-`.replace(/-+/g, '-');
}

/** Rancher's display name for a Paddock cluster: readable, unique, stable across retries. */
export function rancherNameFor(clusterId: string, name: string): string {
  const suffix = clusterId.replace(/-/g, '').slice(0, 12);
  const head = name.slice(0, 50).replace(/-+$/, '');
  return `${head}-${suffix}`;
}
