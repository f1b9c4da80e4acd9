import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { conflict, notFound } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import { ClustersRepository } from '../clusters/clusters.repository';
import type { OperationDto } from '../clusters/operation.dto';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { NodeRegistrationsRepository, type MirroredNode } from './node-registrations.repository';

/**
 * Removing a registered (own) node: an operation `remove-node` that deletes it on the backend (no
 * pool replaces it) and frees its quota once the backend no longer lists it.
 */
@Injectable()
export class RegisteredNodes {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly reads: ClusterReads,
    private readonly clusters: ClustersRepository,
    private readonly recorder: OperationRecorder,
    private readonly registrations: NodeRegistrationsRepository,
  ) {}

  /** The cluster's node `ref` (hostname or id), or 404. */
  async find(projectName: string, clusterName: string, ref: string): Promise<MirroredNode> {
    const cluster = await this.lookup.requireLiveCluster(
      await this.lookup.requireProject(projectName),
      clusterName,
    );
    const node = await this.registrations.findNode(cluster.id, ref);
    if (!node) throw notFound('node', ref);
    return node;
  }

  /** Records the removal of a registered node; 409 while another operation runs on the cluster. */
  async remove(projectName: string, clusterName: string, ref: string): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const node = await this.registrations.findNode(cluster.id, ref);
      if (!node) throw notFound('node', ref);
      if (node.source !== 'registered') {
        throw conflict('NOT_A_REGISTERED_NODE', `node '${node.hostname}' belongs to a pool`);
      }
      await this.recorder.recordInTransaction({
        id: operationId,
        type: 'remove-node',
        projectId: project.id,
        clusterId: cluster.id,
        nodePoolId: null,
        pools: [],
        params: { nodeRancherId: node.rancherId, nodeHostname: node.hostname },
      });
      await this.clusters.setState(cluster.id, 'updating');
    });
    return this.reads.operation(operationId);
  }
}
