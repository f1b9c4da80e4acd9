import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditRepository } from '../audit/audit.repository';
import { ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { ClusterDeletion } from './cluster-deletion.service';
import { ClustersRepository } from './clusters.repository';

/** How many expired clusters one pass takes on; the next pass (one sweep period later) takes the rest. */
const BATCH = 100;

/**
 * Deletes clusters whose `expiresAt` has passed, each with an ordinary delete operation,
 * recorded with its audit row (action `expire`) in one transaction. Run by a cluster-wide job
 * scheduler; running it twice, or on two workers at once, records one delete: the cluster's row
 * is locked and looked at again, and a cluster that is `deleting` is no longer expired. A cluster
 * busy with another operation is passed over and taken on a later pass, once it is done.
 */
@Injectable()
export class ClusterExpiry {
  private readonly logger = new Logger(ClusterExpiry.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly clusters: ClustersRepository,
    private readonly deletion: ClusterDeletion,
    private readonly audit: AuditRepository,
  ) {}

  /** One pass; returns how many deletes it recorded. */
  async expireDue(): Promise<number> {
    let recorded = 0;
    for (const id of await this.clusters.expiredIds(BATCH)) {
      try {
        if (await this.expire(id)) recorded += 1;
      } catch (error) {
        if (error instanceof ProblemError && error.code === 'OPERATION_IN_PROGRESS') continue;
        throw error;
      }
    }
    if (recorded > 0) this.logger.log(`recorded the delete of ${recorded} expired cluster(s)`);
    return recorded;
  }

  private expire(clusterId: string): Promise<boolean> {
    return this.uow.run(async () => {
      const cluster = await this.clusters.findByIdForUpdate(clusterId);
      const stillDue =
        cluster?.expiresAt &&
        cluster.expiresAt.getTime() <= Date.now() &&
        !['deleted', 'failed', 'deleting'].includes(cluster.state);
      if (!cluster || !stillDue) return false;
      const operationId = randomUUID();
      await this.deletion.recordInTransaction(cluster, operationId);
      const path = `/v1/projects/${cluster.projectName}/clusters/${cluster.name}`;
      await this.audit.insertWithin({
        actor: 'paddock-expiry',
        role: null,
        credentialId: null,
        project: cluster.projectName,
        action: 'expire',
        method: 'DELETE',
        target: path,
        status: 202,
        code: null,
        requestId: null,
        details: { expiresAt: cluster.expiresAt?.toISOString(), operationId, clusterId: cluster.id },
      });
      return true;
    });
  }
}
