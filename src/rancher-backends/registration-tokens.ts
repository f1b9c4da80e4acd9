/**
 * Cluster registration tokens (rancher-api.md §5), the same `/v3/clusterregistrationtokens` for both
 * backend kinds: rke1 names the `c-xxxxx` cluster, rke2 its management twin `c-m-xxxxxxxx`.
 *
 * Paddock makes one token per node registration (named `paddock-<registration id>`), not the
 * cluster's shared `default-token`: deleting it when the registration is revoked or expires makes
 * the commands handed out with it stop working, without touching anyone else's. The token's value
 * and the commands holding it are credentials: nothing here logs them or puts them in an error.
 */
import type { RemoteRegistrationToken } from './backend-driver';
import { BackendError, isBackendError } from './backend.errors';
import type { RancherClient } from './rancher-client';

const ROUTES = {
  tokens: '/v3/clusterregistrationtokens',
  token: '/v3/clusterregistrationtokens/:id',
} as const;

interface V3RegistrationToken {
  id?: string;
  nodeCommand?: string;
}

/** Rancher fills the command fields asynchronously (§5); terraform waits up to 10 × 3 s. */
const FILL_ATTEMPTS = 20;
const FILL_INTERVAL_MS = 250;

export async function ensureRegistrationToken(
  client: RancherClient,
  managementClusterId: string,
  name: string,
): Promise<RemoteRegistrationToken> {
  const id = `${managementClusterId}:${name}`;
  let token = await readToken(client, id);
  if (!token) {
    try {
      await client.request({
        method: 'POST',
        route: ROUTES.tokens,
        body: { type: 'clusterRegistrationToken', clusterId: managementClusterId, name },
        idempotent: false,
      });
    } catch (error) {
      // An earlier attempt whose answer was lost made it already (the fixed name's 409).
      if (!(isBackendError(error) && error.kind === 'conflict')) throw error;
    }
    token = await readToken(client, id);
  }
  for (let attempt = 1; !token?.nodeCommand; attempt++) {
    if (attempt >= FILL_ATTEMPTS) {
      throw new BackendError({
        kind: 'unavailable',
        retryable: true,
        backend: client.backend,
        method: 'GET',
        path: `/v3/clusterregistrationtokens/${id}`,
        detail: 'the registration token has no node command yet',
      });
    }
    await new Promise((resolve) => setTimeout(resolve, FILL_INTERVAL_MS));
    token = await readToken(client, id);
  }
  return { id, nodeCommand: token.nodeCommand };
}

export async function deleteRegistrationToken(client: RancherClient, id: string): Promise<void> {
  try {
    await client.request({ method: 'DELETE', route: ROUTES.token, params: { id }, idempotent: true });
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return;
    throw error;
  }
}

async function readToken(client: RancherClient, id: string): Promise<V3RegistrationToken | null> {
  try {
    const res = await client.request<V3RegistrationToken>({
      method: 'GET',
      route: ROUTES.token,
      params: { id },
    });
    return res.data;
  } catch (error) {
    if (isBackendError(error) && error.kind === 'not-found') return null;
    throw error;
  }
}
