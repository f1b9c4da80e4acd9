import { HttpStatus, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { conflict, notFound, ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { OperationRecorder } from '../operations/operation-recorder.service';
import type { ClusterRecord, NodePoolRecord, NodeRecord } from './cluster.types';
import { ClusterLookup } from './cluster-lookup.service';
import { ClusterReads } from './cluster-reads.service';
import { ClustersRepository } from './clusters.repository';
import { NodesRepository } from './nodes.repository';
import { quorumProblem } from './node-quorum';
import { OperationDto } from './operation.dto';

/**
 * `DELETE …/clusters/{c}/nodes/{node}`: a pool node is replaced (deleted on the backend; its pool,
 * at the same quantity, makes a new one). Quota does not move: the pool's quantity is unchanged.
 * A registered node (an own server joined with a node registration) is removed for good
 * (`remove-node`), and the quota it held is freed once the backend no longer lists it.
 */
@Injectable()
export class NodeReplacement {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly reads: ClusterReads,
    private readonly clusters: ClustersRepository,
    private readonly nodes: NodesRepository,
    private readonly recorder: OperationRecorder,
  ) {}

  async removeNode(projectName: string, clusterName: string, nodeKey: string): Promise<OperationDto> {
    const project = await this.lookup.requireProject(projectName);
    const operationId = randomUUID();
    await this.uow.run(async () => {
      const cluster = await this.lookup.requireLiveCluster(project, clusterName);
      const node = await this.nodes.findNode(cluster.id, nodeKey);
      if (!node) throw notFound('node', nodeKey);
      if (node.state === 'removing') {
        throw conflict('NODE_BEING_REMOVED', `node '${node.hostname}' is already being removed`);
      }
      // A registered (own) server is removed for good, and its quota freed (no pool replaces it).
      if (node.source === 'registered') return this.record(operationId, project.id, cluster, node, null);
      if (node.nodePoolId === null) {
        throw new ProblemError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'NODE_NOT_IN_POOL',
          `node '${nodeKey}' belongs to no node pool of this cluster, so no pool would replace it`,
        );
      }
      await this.recordReplacement(operationId, project.id, cluster, node);
    });
    return this.reads.operation(operationId);
  }

  private async recordReplacement(
    operationId: string,
    projectId: string,
    cluster: ClusterRecord,
    node: NodeRecord,
  ): Promise<void> {
    const problem = quorumProblem(node, await this.nodes.nodesOf(cluster.id));
    if (problem) throw new ProblemError(HttpStatus.UNPROCESSABLE_ENTITY, 'WOULD_LOSE_QUORUM', problem);
    const pool = await this.clusters.findPool(node.nodePoolId as string);
    if (!pool || pool.state === 'deleted' || pool.state === 'failed') throw notFound('node', node.hostname);
    await this.record(operationId, projectId, cluster, node, pool);
  }

  /**
   * `replace-node` for a pool node (the pool makes a new one), `remove-node` for a registered node
   * (gone for good, its quota freed once the backend no longer lists it). Answers 409
   * OPERATION_IN_PROGRESS when another operation is changing the cluster.
   */
  private async record(
    operationId: string,
    projectId: string,
    cluster: ClusterRecord,
    node: NodeRecord,
    pool: NodePoolRecord | null,
  ): Promise<void> {
    await this.recorder.recordInTransaction({
      id: operationId,
      type: pool ? 'replace-node' : 'remove-node',
      projectId,
      clusterId: cluster.id,
      nodePoolId: pool?.id ?? null,
      pools: pool ? [pool] : [],
      params: { node: { rancherId: node.rancherId, hostname: node.hostname } },
    });
    await this.clusters.setState(cluster.id, 'updating');
  }
}
