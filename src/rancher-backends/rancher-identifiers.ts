/**
 * What identifies Rancher in free text: object ids (`c-abcde`, `c-m-abcdefgh`, `np-…`, `m-…`,
 * `nt-…`, `crt-…`, `u-…`, `p-…`, `token-…`, namespaced as `c-abcde:np-x7k2p` or
 * `cattle-global-nt:nt-x7k2p`), API paths (`POST /v3/nodepools`, `/k8s/clusters/…`) and URLs.
 * Users never see these (design: "nobody outside the platform team ever sees a Rancher URL, token,
 * UI or object id"); the patterns live here because only this module knows Rancher's formats.
 */
export const RANCHER_OBJECT_ID =
  /\b(?:c-m-[a-z0-9]{8}|(?:c|np|m|nt|crt|u|p|token|machine)-[a-z0-9]{5}|cattle-global-[a-z]+|kubeconfig-u-[a-z0-9]+)\b/g;
const RANCHER_CALL = /\b(?:GET|POST|PUT|PATCH|DELETE) \/(?:v1|v3|k8s)\b\S*/g;
const RANCHER_PATH = /(?:^|(?<=\s))\/(?:v1|v3|k8s)\/\S*/g;
const URL = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;

/** `text` with every Rancher URL, path and object id replaced by Paddock's words for it. */
export function withoutRancherIdentity(text: string): string {
  return text
    .replace(URL, 'the backend')
    .replace(RANCHER_CALL, 'a backend call')
    .replace(RANCHER_PATH, 'a backend path')
    .replace(RANCHER_OBJECT_ID, 'a backend object');
}
