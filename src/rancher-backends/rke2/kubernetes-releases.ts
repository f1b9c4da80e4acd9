/** The Kubernetes versions an rke2 backend offers, and the one a new cluster asks for. */

import { BackendError, isBackendError } from '../backend.errors';
import { backendVersionOf } from '../kubernetes-versions';
import { RancherClient } from '../rancher-client';
import { isSteveCollection } from '../wire/v1.types';
import type { V3Setting } from '../wire/v3.types';
import { ROUTES } from './steve-requests';

/** The RKE2 and K3s releases the server's channel server offers (§1.6 of rancher-212.md). */
export async function offeredReleases(client: RancherClient): Promise<string[]> {
  const versions: string[] = [];
  for (const route of [ROUTES.rke2Releases, ROUTES.k3sReleases]) {
    try {
      const res = await client.request<unknown>({ method: 'GET', route });
      if (!isSteveCollection(res.data)) continue;
      for (const item of res.data.data as Array<{ version?: unknown; id?: unknown }>) {
        const v = typeof item.version === 'string' ? item.version : item.id;
        if (typeof v === 'string' && v !== '') versions.push(v);
      }
    } catch (error) {
      // A server without a channel server for one distro still serves the other.
      if (!(isBackendError(error) && error.kind === 'not-found')) throw error;
    }
  }
  return versions;
}

/** The user's version in the backend's spelling, or the backend's default for new clusters. */
export async function versionFor(
  client: RancherClient,
  offered: readonly string[],
  wanted: string | undefined,
): Promise<string> {
  if (wanted) {
    const resolved = backendVersionOf('rke2', offered, wanted);
    if (!resolved) {
      throw new BackendError({
        kind: 'invalid',
        retryable: false,
        backend: client.backend,
        method: 'POST',
        path: ROUTES.clusters,
        detail: `kubernetesVersion ${wanted} is not offered by this backend`,
      });
    }
    return resolved;
  }
  const res = await client.request<V3Setting>({ method: 'GET', route: ROUTES.defaultVersion });
  if (typeof res.data?.value === 'string' && res.data.value !== '') return res.data.value;
  const newest = newestOffered(offered);
  if (!newest) {
    throw client.unexpected(
      { method: 'GET', path: ROUTES.defaultVersion },
      'the backend names no default version',
    );
  }
  return newest;
}

function newestOffered(offered: readonly string[]): string | null {
  return [...offered.filter((v) => v.includes('+rke2'))].sort().at(-1) ?? null;
}
