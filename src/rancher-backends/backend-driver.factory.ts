/**
 * `createBackendDriver`: the one way to obtain a `BackendDriver` for a backend.
 *
 * Callers name the backend kind and connection; the factory picks the implementation and builds
 * its HTTP client (limits, retries, breaker, metrics), so nothing outside `src/rancher-backends/`
 * constructs a driver or a client directly. One driver per backend should be kept for the life of
 * that backend's configuration: the concurrency and rate limits are per instance. Call `close()`
 * when the backend is removed or its URL or token change.
 */

import type { BackendConnection, BackendDriver, BackendDriverSettings, BackendKind } from './backend-driver';
import { RancherClient, RancherClientOptions } from './rancher-client';
import { Rke1Driver } from './rke1.driver';
import { Rke2Driver } from './rke2.driver';

export type BackendDriverOptions = RancherClientOptions;

export const BACKEND_KINDS: readonly BackendKind[] = ['rke1', 'rke2'];

export function createBackendDriver(
  kind: BackendKind,
  connection: BackendConnection,
  options: BackendDriverOptions = {},
  settings: BackendDriverSettings = { flavors: {} },
): BackendDriver & { close(): void } {
  switch (kind) {
    case 'rke1':
      return new Rke1Driver(new RancherClient(validConnection(connection), options), settings);
    case 'rke2':
      return new Rke2Driver(new RancherClient(validConnection(connection), options), settings);
    default: {
      // Reached only when a caller passes an unchecked string (e.g. from a database row).
      const unknown: never = kind;
      throw new Error(
        `unknown backend kind "${String(unknown)}"; supported kinds: ${BACKEND_KINDS.join(', ')}`,
      );
    }
  }
}

function validConnection(connection: BackendConnection): BackendConnection {
  let url: URL;
  try {
    url = new URL(connection.url);
  } catch {
    throw new Error(`backend ${connection.name}: url is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`backend ${connection.name}: url must be http or https`);
  }
  if (url.username || url.password) {
    throw new Error(`backend ${connection.name}: credentials belong in the token, not in the url`);
  }
  if (!connection.token) throw new Error(`backend ${connection.name}: token is empty`);
  // Drop a trailing /v3 someone pasted from the Rancher UI; routes already start with /v3.
  const base = connection.url.replace(/\/+$/, '').replace(/\/v3$/, '');
  return { ...connection, url: base };
}
