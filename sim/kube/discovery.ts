/**
 * `/version` and the legacy discovery documents (`/api`, `/apis`, `/api/v1`). Aggregated
 * discovery is not offered: kubectl asks for it by Accept header and falls back to these when the
 * answer is a plain `APIVersions` / `APIGroupList`.
 */
import type { SimObject } from '../store';
import { RESOURCES } from './resources';

export function versionInfo(cluster: SimObject): unknown {
  return cluster.fields.version;
}

export function apiVersions(cluster: SimObject): unknown {
  const endpoint = String(cluster.fields.apiEndpoint ?? '').replace(/^https?:\/\//, '');
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: endpoint }],
  };
}

/** No API groups besides the core group are served. */
export function apiGroupList(): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

export function coreResourceList(): unknown {
  const resources: Array<Record<string, unknown>> = [];
  for (const def of RESOURCES) {
    resources.push({
      name: def.name,
      singularName: def.singularName,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: def.verbs,
      shortNames: def.shortNames,
      ...(def.name === 'pods' ? { categories: ['all'] } : {}),
    });
    if (def.name === 'pods') {
      resources.push({
        name: 'pods/exec',
        singularName: '',
        namespaced: true,
        kind: 'PodExecOptions',
        verbs: ['create', 'get'],
      });
    }
  }
  return { kind: 'APIResourceList', groupVersion: 'v1', resources };
}
