import { Injectable } from '@nestjs/common';
import { conflict, notFound } from '../common/problem';
import { Project } from '../projects/projects.repository';
import { ProjectsService } from '../projects/projects.service';
import type { ClusterRecord, NodePoolRecord } from './cluster.types';
import { ClustersRepository } from './clusters.repository';

/** Finds what a request names (project, cluster, pool), or answers 404/409 in the API's words. */
@Injectable()
export class ClusterLookup {
  constructor(
    private readonly projects: ProjectsService,
    private readonly clusters: ClustersRepository,
  ) {}

  requireProject(name: string): Promise<Project> {
    return this.projects.require(name);
  }

  /** The project's cluster of that name, live or, failing that, the latest (so a failed create stays visible). */
  async requireCluster(project: Project, name: string): Promise<ClusterRecord> {
    const cluster = await this.clusters.findByName(project.id, name);
    if (!cluster) throw notFound('cluster', name);
    return cluster;
  }

  /** A cluster that exists and is not being deleted (so it can be changed). */
  async requireLiveCluster(project: Project, name: string): Promise<ClusterRecord> {
    const cluster = await this.requireCluster(project, name);
    if (cluster.state === 'deleted' || cluster.state === 'failed') throw notFound('cluster', name);
    if (cluster.state === 'deleting') {
      throw conflict('OPERATION_IN_PROGRESS', `cluster '${name}' is being deleted`, {
        clusterId: cluster.id,
      });
    }
    return cluster;
  }

  async requirePool(cluster: ClusterRecord, name: string): Promise<NodePoolRecord> {
    const pool = await this.clusters.findLivePoolByName(cluster.id, name);
    if (!pool) throw notFound('node pool', name);
    return pool;
  }
}
