import type { CloudCredentialRef } from './backend-driver';
import { isBackendError } from './backend.errors';
import type { RancherClient } from './rancher-client';

/** Norman's key of a credential's driver block: `openstackcredentialConfig` → driver `openstack`. */
const DRIVER_BLOCK = /^(.+)credentialConfig$/;

/**
 * `GET /v3/cloudcredentials/<id>`: the credential and the machine drivers it carries a block for,
 * or null when the backend has none by that id. Norman answers 403 as well as 404 for a credential
 * the token may not read (rancher-api.md §4.1 "unknown or inaccessible credential"); either way
 * the backend's machines could not be made with it.
 */
export async function findCloudCredential(
  client: RancherClient,
  id: string,
): Promise<CloudCredentialRef | null> {
  try {
    const res = await client.request<Record<string, unknown>>({
      method: 'GET',
      route: '/v3/cloudcredentials/:id',
      params: { id },
    });
    const body = res.data ?? {};
    if (typeof body.id !== 'string')
      throw client.unexpected({ method: 'GET', path: `/v3/cloudcredentials/${id}` }, 'expected a credential');
    const drivers = Object.keys(body).flatMap((key) => {
      const match = DRIVER_BLOCK.exec(key);
      return match && body[key] !== null && typeof body[key] === 'object' ? [match[1]] : [];
    });
    return { id: body.id, drivers };
  } catch (error) {
    if (isBackendError(error) && (error.kind === 'not-found' || error.kind === 'forbidden')) return null;
    throw error;
  }
}
