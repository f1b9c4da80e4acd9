import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsObject, IsString, IsUrl, Matches, Max, MaxLength, Min } from 'class-validator';
import { IsDnsLabel } from '../common/dns-label';
import { IsNestedObject, IsOmittable } from '../common/validation';
import { ADDON_STATES } from './addon.types';
import type { AddonState } from './addon.types';

/** Strict semver 2.0 (Fleet refuses anything else with `helmOpOptions`): `1.4.2`, `2.0.0-rc.1`. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
/** An http(s) URL without credentials. */
const HTTP_URL = /^https?:\/\/[^\s/@]+(?:\/[^\s]*)?$/;
/** A chart name as Helm allows it. */
const CHART_NAME = /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/;
/** Fleet's `maxUnavailable`: a count or a percentage. */
const MAX_UNAVAILABLE = /^(\d{1,5}|([1-9]?\d|100)%)$/;

export class AddonChartDto {
  /** The Helm repository's URL (http or https); every cluster downloads the chart from it. */
  @ApiProperty({ example: 'https://charts.example.com/stable', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  @Matches(HTTP_URL, { message: 'chart.repo must be an http or https URL without credentials' })
  // The pattern alone lets through what no URL parser reads (`http://[`, `http://%zz/`).
  @IsUrl(
    { require_tld: false, require_protocol: true, protocols: ['http', 'https'], disallow_auth: true },
    { message: 'chart.repo must be an http or https URL without credentials' },
  )
  repo: string;

  @ApiProperty({ example: 'ingress-nginx', pattern: CHART_NAME.source })
  @IsString()
  @Matches(CHART_NAME, { message: 'chart.name must be a chart name: lower-case letters, digits, - _ .' })
  name: string;

  @ApiProperty({ example: '4.11.2', description: 'A strict semver version the repository lists' })
  @IsString()
  @MaxLength(128)
  @Matches(SEMVER, { message: 'chart.version must be a semver version such as 1.4.2' })
  version: string;
}

export class AddonRolloutDto {
  /** Clusters updated at once: a count or a percentage (Fleet's `maxUnavailable`, default `25%`). */
  @ApiProperty({ example: '25%', required: false })
  @IsOmittable()
  @IsString()
  @Matches(MAX_UNAVAILABLE, { message: 'rollout.maxUnavailable must be a count or a percentage such as 25%' })
  maxUnavailable?: string;

  /** Failed clusters tolerated before the rollout pauses (default 0). */
  @IsOmittable()
  @IsInt()
  @Min(0)
  @Max(100_000)
  maxFailures?: number;
}

export class CreateAddonDto {
  @IsDnsLabel('Addon name (also its Helm release name)', 'ingress-nginx')
  @MaxLength(53)
  name: string;

  @IsNestedObject(() => AddonChartDto)
  chart: AddonChartDto;

  @IsDnsLabel('Namespace the chart is installed in on every cluster', 'ingress-nginx')
  namespace: string;

  /** Default Helm values. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOmittable()
  @IsObject()
  values?: Record<string, unknown>;

  /** Required addons reach every cluster; optional ones the clusters whose owner opts in. */
  @IsOmittable()
  @IsBoolean()
  required?: boolean;

  @IsOmittable()
  @IsNestedObject(() => AddonRolloutDto)
  rollout?: AddonRolloutDto;
}

/** Any field of the addon but its name; a new version or values is a rollout. */
export class UpdateAddonDto {
  @IsOmittable()
  @IsNestedObject(() => AddonChartDto)
  chart?: AddonChartDto;

  @IsOmittable()
  @IsDnsLabel('Namespace the chart is installed in on every cluster', 'ingress-nginx')
  namespace?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOmittable()
  @IsObject()
  values?: Record<string, unknown>;

  @IsOmittable()
  @IsBoolean()
  required?: boolean;

  @IsOmittable()
  @IsNestedObject(() => AddonRolloutDto)
  rollout?: AddonRolloutDto;
}

export class AddonRolloutSettingsDto {
  maxUnavailable: string;
  maxFailures: number;
}

export class AddonDto {
  name: string;
  chart: AddonChartDto;
  namespace: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  values: Record<string, unknown>;
  required: boolean;
  rollout: AddonRolloutSettingsDto;
  /** `deleting` while its Fleet objects are removed from the backends (and it from every cluster). */
  @ApiProperty({ enum: ['active', 'deleting'] })
  state: 'active' | 'deleting';
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class AddonListDto {
  @ApiProperty({ type: [AddonDto] })
  items: AddonDto[];
}

export class FailedClusterDto {
  project: string;
  cluster: string;
  backend: string;
  @ApiProperty({ type: String, nullable: true })
  version: string | null;
  /** Fleet's message. */
  message: string;
}

export class BackendRolloutDto {
  backend: string;
  /** How the backend's Fleet takes the addon; null until known, or where it cannot. */
  @ApiProperty({ enum: ['helmop', 'bundle'], nullable: true })
  delivery: 'helmop' | 'bundle' | null;
  /** `applied`: the backend's Fleet object carries the current definition. */
  @ApiProperty({ enum: ['pending', 'applied', 'unsupported', 'error'] })
  state: 'pending' | 'applied' | 'unsupported' | 'error';
  message: string;
  total: number;
  ready: number;
  failed: number;
  pending: number;
}

export class AddonRolloutStatusDto {
  version: string;
  @ApiProperty({ enum: ['running', 'paused', 'completed'] })
  state: 'running' | 'paused' | 'completed';
  /** Clusters that should have the addon. */
  total: number;
  /** Installed at `version`. */
  ready: number;
  failed: number;
  pending: number;
  @ApiProperty({ type: [FailedClusterDto] })
  failedClusters: FailedClusterDto[];
  @ApiProperty({ type: [BackendRolloutDto] })
  perBackend: BackendRolloutDto[];
}

export class ClusterAddonDto {
  addon: string;
  required: boolean;
  @ApiProperty({ type: String, nullable: true })
  version: string | null;
  @ApiProperty({ enum: ADDON_STATES })
  state: AddonState;
  message: string;
  /** This cluster's own values, when it opted in with some. */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  values: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class ClusterAddonListDto {
  @ApiProperty({ type: [ClusterAddonDto] })
  items: ClusterAddonDto[];
}

export class InstallAddonDto {
  /** Values for this cluster only, on top of the addon's. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOmittable()
  @IsObject()
  values?: Record<string, unknown>;
}
