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
  health: string;
}

export interface Ranking {
  /** Backends that fit, best first. */
  placements: Placement[];
  /** Why each other backend was passed over (shown to admins). */
  reasons: Record<string, string>;
  registered: number;
}

/** 503 when no backend can take the cluster; the per-backend reasons are for admins only. */
export function noBackendAvailable(ranking: Pick<Ranking, 'reasons' | 'registered'>): ProblemError {
  return new ProblemError(
    HttpStatus.SERVICE_UNAVAILABLE,
    'NO_BACKEND_AVAILABLE',
    ranking.registered === 0
      ? 'no backend is registered'
      : 'no backend can take this cluster now; try again later',
    {},
    undefined,
    { reasons: ranking.reasons },
  );
}

/**
 * Placement in two halves. `rank` reads the backends (no lock) and orders those that fit;
 * `claim` counts the cluster against one of them with a conditional update, as the last write
 * of the create transaction, so the backend row is locked only for the moment before commit and
 * two concurrent creates can never both take its last slot.
 */
@Injectable()
export class PlacementService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly backends: BackendsRepository,
  ) {}

  async rank(request: PlacementRequest): Promise<Ranking> {
    const candidates: Candidate[] = await this.uow.manager.query(
      `SELECT id, name, state, health, region, flavors, max_clusters, max_nodes, clusters_count, nodes_count
       FROM backends WHERE deleted_at IS NULL ORDER BY name`,
    );
    const reasons: Record<string, string> = {};
    const fitting: Array<{ c: Candidate; utilization: number }> = [];
    for (const c of candidates) {
      const missing = request.flavors.filter((f) => !c.flavors[f]);
      if (c.state !== 'active') reasons[c.name] = `state is ${c.state}`;
      else if (c.health === 'unhealthy') reasons[c.name] = 'unhealthy (failed its last probes)';
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
    return {
      placements: fitting.map(({ c }) => ({
        backendId: c.id,
        backendName: c.name,
        nodeTemplates: Object.fromEntries(request.flavors.map((f) => [f, c.flavors[f].nodeTemplateId])),
      })),
      reasons,
      registered: candidates.length,
    };
  }

  /**
   * Counts one cluster of `nodes` nodes against the best backend of the ranking that still has
   * room, and returns it (null when none has). A backend another create is claiming at this very
   * instant is passed over at first, so simultaneous creates spread over the backends instead of
   * queueing on the one they all ranked first; only if every backend is busy does the claim wait.
   */
  async claim(placements: Placement[], nodes: number): Promise<Placement | null> {
    for (const placement of placements) {
      if (!(await this.backends.tryMarkClaiming(placement.backendId))) continue;
      if (await this.backends.reserve(placement.backendId, 1, nodes)) return placement;
    }
    for (const placement of placements) {
      if (await this.backends.reserve(placement.backendId, 1, nodes)) return placement;
    }
    return null;
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
