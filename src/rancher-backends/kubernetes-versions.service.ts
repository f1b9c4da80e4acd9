import { HttpStatus, Injectable } from '@nestjs/common';
import { ProblemError } from '../common/problem';
import { BackendsRepository } from './backends.repository';
import { KubernetesVersionListDto } from './kubernetes-versions.dto';
import { compareVersions, offeredFor, plainVersion, versionParts } from './kubernetes-versions';

/**
 * What new clusters and upgrades may use, across the backends that placement would consider now
 * (active and not unhealthy).
 *
 * Read from the backend rows, never from the backends: every probe (each `probePeriodMs`, 10 s in
 * production) stores the versions a backend offers, its default first (rke1 `k8s-versions-current`
 * and `k8s-version`; rke2 the channel server's release lists and `rke2-default-version`). Those
 * lists change when Rancher's metadata refreshes (daily by default), so a probe's copy is at most
 * one probe period stale, and a request costs one query whatever the number of backends; asking
 * every backend per request would put N Rancher round trips (and their failures) on a read any
 * user may repeat. Placement decides from the same rows, so what this lists is what a create gets.
 */
@Injectable()
export class KubernetesVersionsService {
  constructor(private readonly backends: BackendsRepository) {}

  async list(region?: string): Promise<KubernetesVersionListDto> {
    const all = await this.backends.listAll();
    if (region !== undefined && !all.some((b) => b.region === region)) {
      // As for a create: a region no backend has is a client's mistake, not an empty offer.
      throw new ProblemError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'REGION_UNKNOWN',
        `region '${region}' is not offered by any backend`,
        {},
        [{ field: 'region', message: `region '${region}' is not offered by any backend` }],
      );
    }
    const versions = new Map<string, { default: boolean; regions: Set<string> }>();
    for (const b of all) {
      if (b.state !== 'active' || b.health === 'unhealthy') continue;
      if (region !== undefined && b.region !== region) continue;
      const offered = offeredFor(b.kind, b.kubernetesVersions);
      // The probe stores the backend's default first (see `BackendProbe.kubernetesVersions`).
      const fallback = offered.includes(b.kubernetesVersions[0])
        ? plainVersion(b.kubernetesVersions[0])
        : null;
      for (const spelled of offered) {
        const version = plainVersion(spelled);
        if (!version) continue;
        const entry = versions.get(version) ?? { default: false, regions: new Set<string>() };
        entry.default ||= version === fallback;
        if (b.region) entry.regions.add(b.region);
        versions.set(version, entry);
      }
    }
    // Backend names are the platform team's business: users see versions and regions only.
    return {
      items: [...versions.entries()]
        .sort(([a], [b]) => compareVersions(versionParts(b)!, versionParts(a)!))
        .map(([version, e]) => ({ version, default: e.default, regions: [...e.regions].sort() })),
    };
  }
}
