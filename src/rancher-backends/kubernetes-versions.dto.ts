import { IsDnsLabel } from '../common/dns-label';
import { IsOmittable } from '../common/validation';

export class KubernetesVersionsQuery {
  @IsOmittable()
  @IsDnsLabel('Only what backends of this region offer', 'tokyo')
  region?: string;
}

export class KubernetesVersionDto {
  /** In users' form, as create and upgrade take it: `v1.31.9`. */
  version: string;
  /** True when it is what a create without `kubernetesVersion` gets on some backend. */
  default: boolean;
  /** The regions where a backend offers it (a backend without a region counts as none). */
  regions: string[];
}

export class KubernetesVersionListDto {
  /** Newest first. */
  items: KubernetesVersionDto[];
}
