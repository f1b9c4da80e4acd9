import { HttpStatus, Injectable } from '@nestjs/common';
import { ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { BackendsRepository } from './backends.repository';

export interface PlacementRequest {
  region?: string;
  flavors: string[];
  nodes: number;
}

export interface Placement {
  backendId: string;
  backendName: string;
  /** Flavor name → node template id on the chosen backend. */
  nodeTemplates: Record<string, string>;
}

interface Candidate {
  id: string;
  name: string;
  state: string;
  region: string | null;
  flavors: Record<string, { nodeTemplateId: string }>;
  max_clusters: number;
  max_nodes: number;
  clusters_count: number;
  nodes_count: number;
}

/**
 * Chooses the backend for a new cluster inside the caller's transaction and counts the cluster
 * against it with a conditional update, so concurrent creates cannot overfill a backend: one that
 * loses the race for the last slot moves on to the next candidate.
 */
@Injectable()
export class PlacementService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly backends: BackendsRepository,
  ) {}

  async choose(request: PlacementRequest): Promise<Placement> {
    const candidates: Candidate[] = await this.uow.manager.query(
      `SELECT id, name, state, region, flavors, max_clusters, max_nodes, clusters_count, nodes_count
       FROM backends WHERE deleted_at IS NULL ORDER BY name`,
    );
    const reasons: Record<string, string> = {};
    const fitting: Array<{ c: Candidate; utilization: number }> = [];
    for (const c of candidates) {
      const missing = request.flavors.filter((f) => !c.flavors[f]);
      if (c.state !== 'active') reasons[c.name] = `state is ${c.state}`;
      else if (request.region && c.region !== request.region)
        reasons[c.name] = `region is ${c.region ?? 'unset'}`;
      else if (missing.length > 0) reasons[c.name] = `does not offer ${missing.join(', ')}`;
      else if (c.clusters_count + 1 > c.max_clusters)
        reasons[c.name] = `cluster capacity ${c.max_clusters} reached`;
      else if (c.nodes_count + request.nodes > c.max_nodes)
        reasons[c.name] = `node capacity ${c.max_nodes} reached`;
      else {
        fitting.push({
          c,
          utilization: Math.max(
            c.max_clusters > 0 ? (c.clusters_count + 1) / c.max_clusters : 1,
            c.max_nodes > 0 ? (c.nodes_count + request.nodes) / c.max_nodes : 1,
          ),
        });
      }
    }
    // Least utilised first; the name breaks ties so the choice is deterministic.
    fitting.sort((a, b) => a.utilization - b.utilization || a.c.name.localeCompare(b.c.name));
    for (const { c } of fitting) {
      if (await this.backends.reserve(c.id, 1, request.nodes)) {
        return {
          backendId: c.id,
          backendName: c.name,
          nodeTemplates: Object.fromEntries(request.flavors.map((f) => [f, c.flavors[f].nodeTemplateId])),
        };
      }
      reasons[c.name] = 'capacity taken by a concurrent create';
    }
    throw new ProblemError(
      HttpStatus.SERVICE_UNAVAILABLE,
      'NO_BACKEND_AVAILABLE',
      candidates.length === 0 ? 'no backend is registered' : 'no backend can take this cluster now',
      { reasons },
    );
  }

  /** The node template of a flavor on a given backend, for adding pools to an existing cluster. */
  async nodeTemplateFor(backendId: string, flavor: string): Promise<string | null> {
    const rows: Array<{ template: string | null }> = await this.uow.manager.query(
      `SELECT flavors -> $2 ->> 'nodeTemplateId' AS template FROM backends WHERE id = $1`,
      [backendId, flavor],
    );
    return rows[0]?.template ?? null;
  }
}
