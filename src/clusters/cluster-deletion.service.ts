import { Injectable } from '@nestjs/common';
import { NodeRegistrationLedger } from '../node-registrations/node-registration-ledger.service';
import { OperationRecorder } from '../operations/operation-recorder.service';
import type { ClusterRecord } from './cluster.types';
import { ClustersRepository } from './clusters.repository';

/** A cluster's delete as both a user's request and the expiry sweep record it. */
@Injectable()
export class ClusterDeletion {
  constructor(
    private readonly recorder: OperationRecorder,
    private readonly clusters: ClustersRepository,
    private readonly registrations: NodeRegistrationLedger,
  ) {}

  /**
   * Records the delete operation and turns the cluster `deleting`. Must run inside the caller's
   * open transaction; 409 `OPERATION_IN_PROGRESS` when another operation is changing the cluster.
   */
  async recordInTransaction(cluster: ClusterRecord, operationId: string): Promise<void> {
    await this.recorder.recordInTransaction({
      id: operationId,
      type: 'delete-cluster',
      projectId: cluster.projectId,
      clusterId: cluster.id,
      nodePoolId: null,
      pools: [],
    });
    await this.clusters.setState(cluster.id, 'deleting');
    // Own servers joined to it stop counting now: they cannot outlive the cluster they joined.
    await this.registrations.closeForCluster(cluster.id);
  }
}
