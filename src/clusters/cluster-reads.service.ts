import { Injectable } from '@nestjs/common';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { notFound } from '../common/problem';
import { OperationsRepository } from '../operations/operations.repository';
import { ClusterDto, ClusterListDto, ListClustersQuery, NodeListDto } from './cluster.dto';
import { toClusterDto, toNodeDto, toOperationDto } from './cluster.mapper';
import { ClusterLookup } from './cluster-lookup.service';
import { ClustersRepository } from './clusters.repository';
import { NodesRepository } from './nodes.repository';
import { OperationDto } from './operation.dto';

/** Reads of clusters, pools, nodes and operations: Postgres only. */
@Injectable()
export class ClusterReads {
  constructor(
    private readonly lookup: ClusterLookup,
    private readonly clusters: ClustersRepository,
    private readonly nodeRows: NodesRepository,
    private readonly operations: OperationsRepository,
  ) {}

  async get(projectName: string, clusterName: string): Promise<ClusterDto> {
    const cluster = await this.lookup.requireCluster(
      await this.lookup.requireProject(projectName),
      clusterName,
    );
    return toClusterDto(cluster, await this.clusters.poolsOf([cluster.id]));
  }

  async list(projectName: string, query: ListClustersQuery): Promise<ClusterListDto> {
    const project = await this.lookup.requireProject(projectName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.clusters.list(
      project.id,
      query.state,
      limit,
      after ? { name: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (c) => ({ key: c.name, id: c.id }));
    const pools = await this.clusters.poolsOf(page.items.map((c) => c.id));
    return { items: page.items.map((c) => toClusterDto(c, pools)), nextCursor: page.nextCursor };
  }

  async nodes(projectName: string, clusterName: string, query: PageQuery): Promise<NodeListDto> {
    const cluster = await this.lookup.requireCluster(
      await this.lookup.requireProject(projectName),
      clusterName,
    );
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.nodeRows.nodes(
      cluster.id,
      limit,
      after ? { hostname: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (n) => ({ key: n.hostname, id: n.id }));
    return { items: page.items.map(toNodeDto), nextCursor: page.nextCursor };
  }

  async operation(id: string): Promise<OperationDto> {
    const op = await this.operations.findById(id);
    if (!op) throw notFound('operation', id);
    return toOperationDto(op);
  }
}
