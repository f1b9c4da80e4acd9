import { HttpStatus, Injectable } from '@nestjs/common';
import { ProblemError } from '../common/problem';
import { BackendsRepository } from './backends.repository';
import { templateRefOf, type Backend } from './backend.types';
import type { BackendKind } from './backend-driver';
import { backendVersionOf, plainVersion } from './kubernetes-versions';

export interface PlacementRequest {
  region?: string;
  flavors: string[];
  nodes: number;
  /** `v1.31.9` or `v1.31`: only backends offering it fit. */
  kubernetesVersion?: string;
}

export interface Placement {
  backendId: string;
  backendName: string;
  kind: BackendKind;
  /** The requested Kubernetes version as this backend offers it, in plain form (`v1.31.9`). */
  kubernetesVersion: string | null;
  /** Flavor name → node template id on the chosen backend. */
  nodeTemplates: Record<string, string>;
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
  constructor(private readonly backends: BackendsRepository) {}

  async rank(request: PlacementRequest): Promise<Ranking> {
    const candidates = await this.backends.listAll();
    const reasons: Record<string, string> = {};
    const fitting: Array<{ b: Backend; utilization: number; version: string | null }> = [];
    for (const b of candidates) {
      const missing = request.flavors.filter((f) => !b.flavors[f]);
      const version = request.kubernetesVersion
        ? backendVersionOf(b.kind, b.kubernetesVersions, request.kubernetesVersion)
        : null;
      if (b.state !== 'active') reasons[b.name] = `state is ${b.state}`;
      else if (b.health === 'unhealthy') reasons[b.name] = 'unhealthy (failed its last probes)';
      else if (request.region && b.region !== request.region)
        reasons[b.name] = `region is ${b.region ?? 'unset'}`;
      else if (missing.length > 0) reasons[b.name] = `does not offer ${missing.join(', ')}`;
      else if (request.kubernetesVersion && !version)
        reasons[b.name] = `does not offer Kubernetes ${request.kubernetesVersion}`;
      else if (b.clusters + 1 > b.maxClusters) reasons[b.name] = `cluster capacity ${b.maxClusters} reached`;
      else if (b.nodes + request.nodes > b.maxNodes) reasons[b.name] = `node capacity ${b.maxNodes} reached`;
      else {
        fitting.push({
          b,
          version,
          utilization: Math.max(
            b.maxClusters > 0 ? (b.clusters + 1) / b.maxClusters : 1,
            b.maxNodes > 0 ? (b.nodes + request.nodes) / b.maxNodes : 1,
          ),
        });
      }
    }
    // Least utilised first; the name breaks ties so the choice is deterministic.
    fitting.sort((x, y) => x.utilization - y.utilization || x.b.name.localeCompare(y.b.name));
    return {
      placements: fitting.map(({ b, version }) => ({
        backendId: b.id,
        backendName: b.name,
        kind: b.kind,
        kubernetesVersion: version ? plainVersion(version) : null,
        nodeTemplates: Object.fromEntries(request.flavors.map((f) => [f, templateRefOf(f, b.flavors[f])])),
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
  nodeTemplateFor(backendId: string, flavor: string): Promise<string | null> {
    return this.backends.nodeTemplateOf(backendId, flavor);
  }
}
