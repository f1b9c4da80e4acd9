import type { TokenCipher } from './token-cipher';

/** Where, and as whom, a cluster's Kubernetes API is reached through its backend. */
export interface KubernetesApiEndpoint {
  /** Base URL: a request path such as `/api/v1/nodes` is appended to it. */
  baseUrl: URL;
  /** The `Authorization` value: the backend's own token. A secret: never log or return it. */
  authorization: string;
}

/**
 * Rancher's per-cluster proxy (rancher-api.md §7.1): `/k8s/clusters/<management id>` forwards to
 * the downstream kube-apiserver through the cluster agent, with the same token as `/v3`. rke1 and
 * rke2 backends alike (for rke2 the id is the management twin `c-m-…`).
 */
export function kubernetesApiEndpoint(
  backend: { url: string; tokenCiphertext: string },
  rancherClusterId: string,
  cipher: TokenCipher,
): KubernetesApiEndpoint {
  const base = backend.url.replace(/\/+$/, '');
  return {
    baseUrl: new URL(`${base}/k8s/clusters/${encodeURIComponent(rancherClusterId)}`),
    authorization: `Bearer ${cipher.open(backend.tokenCiphertext)}`,
  };
}
