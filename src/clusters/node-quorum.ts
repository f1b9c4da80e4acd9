import type { NodeRecord } from './cluster.types';

/**
 * Whether a node may be replaced in place without the cluster losing etcd quorum or its last
 * working control plane. The node is deleted first and its replacement joins later, so for that
 * while the cluster runs on the others alone:
 *
 * - etcd: with `n` members (the cluster's etcd nodes not already being removed, this one
 *   included), etcd needs floor(n/2)+1 of them to agree. Rancher removes the member before the
 *   machine goes, and a new member is added only once the replacement is up, so the members other
 *   than this one that are healthy must by themselves be at least floor(n/2)+1. That refuses a lone
 *   etcd node (n=1: 0 < 1), either node of two (n=2: at most 1 < 2), and a healthy member of three
 *   while another is down (1 < 2); it allows replacing the broken member of three whose two others
 *   are healthy (2 ≥ 2), or any one of five with at most one other down.
 * - controlplane: at least one other controlplane node must be healthy, so the API server stays
 *   up; a lone controlplane node is never replaced in place.
 *
 * Healthy means active on the backend with no `Ready` (or CAPI `NodeHealthy`) condition other than
 * True. Worker-only nodes are always replaceable.
 */
export function quorumProblem(node: NodeRecord, clusterNodes: readonly NodeRecord[]): string | null {
  const others = clusterNodes.filter((n) => n.id !== node.id && n.state !== 'removing');
  if (node.roles.includes('etcd')) {
    const members = others.filter((n) => n.roles.includes('etcd')).length + 1;
    const healthyOthers = others.filter((n) => n.roles.includes('etcd') && isHealthy(n)).length;
    const quorum = Math.floor(members / 2) + 1;
    if (healthyOthers < quorum) {
      return (
        `replacing etcd node '${node.hostname}' would leave ${healthyOthers} healthy etcd member(s) of ` +
        `${members}; etcd needs ${quorum} to keep quorum`
      );
    }
  }
  if (node.roles.includes('controlplane')) {
    if (!others.some((n) => n.roles.includes('controlplane') && isHealthy(n))) {
      return `replacing controlplane node '${node.hostname}' would leave the cluster without a healthy controlplane node`;
    }
  }
  return null;
}

const HEALTH_CONDITIONS = new Set(['Ready', 'NodeHealthy']);

export const isHealthy = (node: NodeRecord): boolean =>
  node.state === 'active' &&
  !node.conditions.some((c) => HEALTH_CONDITIONS.has(c.type) && c.status !== 'True');
