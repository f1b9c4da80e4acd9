import { Injectable } from '@nestjs/common';
import { QuotaService } from '../quota/quota.service';
import type { CloseReason } from './node-registration.types';
import { NodeRegistrationsRepository, UncountedNode } from './node-registrations.repository';

/**
 * How node registrations move the project's node quota, always inside the caller's transaction:
 * a registration reserves `count` nodes when it is made; a node that joins with it turns one of
 * them into usage; closing it (revoked, expired, its cluster deleted) gives back what is still
 * reserved; a joined node that goes away (removed through Paddock or gone from the backend) frees
 * its usage and its slot. The quota reconcile job recomputes the same from the tables.
 */
@Injectable()
export class NodeRegistrationLedger {
  constructor(
    private readonly registrations: NodeRegistrationsRepository,
    private readonly quota: QuotaService,
  ) {}

  /** Closes one open registration; false when it was closed already. */
  async close(id: string, reason: CloseReason): Promise<boolean> {
    const closed = await this.registrations.close({ id }, reason);
    for (const { projectId, unused } of closed)
      await this.quota.cancel(projectId, { clusters: 0, nodes: unused });
    return closed.length > 0;
  }

  /**
   * The cluster is being deleted: its registrations close, its joined nodes stop counting (they go
   * with the cluster), and its tokens go with it on the backend.
   */
  async closeForCluster(clusterId: string): Promise<void> {
    for (const { projectId, unused } of await this.registrations.close({ clusterId }, 'cluster-deleted'))
      await this.quota.cancel(projectId, { clusters: 0, nodes: unused });
    for (const { projectId, nodes } of await this.registrations.uncount({ clusterId }))
      await this.quota.free(projectId, { clusters: 0, nodes });
    await this.registrations.markClusterTokensRemoved(clusterId);
  }

  /** A registered node was removed through Paddock and is gone from the backend. */
  async nodeGone(rancherId: string): Promise<void> {
    for (const { projectId, nodes } of await this.registrations.uncount({ rancherId }))
      await this.quota.free(projectId, { clusters: 0, nodes });
  }

  /**
   * After the sync mirrored every node of the backend (`seen`): nodes gone from the backend stop
   * counting, newly joined ones are counted into their registration while it has room, and the
   * registered nodes left uncounted (beyond their registration's count, joined after it closed,
   * or naming no registration of their cluster) are answered as drift.
   */
  async settleSync(backendId: string, seen: string[]): Promise<UncountedNode[]> {
    for (const { projectId, nodes } of await this.registrations.uncount({ backendId, seen }))
      await this.quota.free(projectId, { clusters: 0, nodes });
    for (const { projectId, nodes } of await this.registrations.countJoined(backendId))
      await this.quota.confirm(projectId, { clusters: 0, nodes });
    return this.registrations.uncounted(backendId);
  }
}
