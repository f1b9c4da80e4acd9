import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { IsIn, IsInt, IsObject, IsString, IsUrl, Matches, MaxLength, Max, Min } from 'class-validator';
import { IsDnsLabel } from '../common/dns-label';
import { IsNestedObject, IsOmittable } from '../common/validation';
import { BACKEND_STATES, type BackendState } from './backend.types';

export class BackendCapacityDto {
  /** Most clusters Paddock places on this backend. */
  @IsInt()
  @Min(0)
  @Max(100_000)
  maxClusters: number;

  /** Most nodes (sum of pool quantities) Paddock places on this backend. */
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  maxNodes: number;
}

export class MachineConfigTemplateDto {
  /** The machine-config kind of the node driver, e.g. `OpenstackConfig`, `Amazonec2Config`. */
  kind: string;
  /** The driver's fields (top-level in the machine config), e.g. `{"flavorName": "m1.large"}`. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  fields: Record<string, unknown>;
}

/**
 * What a flavor means on this backend: on `rke1` the node template that realises it; on `rke2` the
 * machine config Paddock creates for each pool of the flavor. Checked per kind by the service.
 */
export class FlavorDto {
  /** rke1: the node template, e.g. `cattle-global-nt:nt-x7k2p`. */
  @ApiPropertyOptional()
  nodeTemplateId?: string;
  /** rke2: the machine-config template. */
  @ApiPropertyOptional({ type: MachineConfigTemplateDto })
  machineConfig?: MachineConfigTemplateDto;
}

const FLAVORS_SCHEMA = {
  type: 'object' as const,
  additionalProperties: { $ref: '#/components/schemas/FlavorDto' },
  example: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-x7k2p' } },
  description:
    'Our flavor name → what it means on this backend: `{"nodeTemplateId"}` on rke1, ' +
    '`{"machineConfig": {"kind", "fields"}}` on rke2',
};

export const BACKEND_KIND_VALUES = ['rke1', 'rke2'] as const;
export type BackendKindValue = (typeof BACKEND_KIND_VALUES)[number];

export class RegisterBackendDto {
  @IsDnsLabel('Backend name', 'tokyo-1')
  name: string;

  /** Base URL of the Rancher server. */
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  @MaxLength(2048)
  url: string;

  /** Rancher API key `token-xxxxx:secret`. Write-only: never returned. */
  @IsString()
  @Matches(/^token-[a-z0-9]+:\S+$/, {
    message: 'token must be a Rancher API key of the form token-xxxxx:secret',
  })
  @MaxLength(512)
  token: string;

  /** `rke1` (norman /v3, Rancher ≤ 2.11) or `rke2` (provisioning v2, any Rancher from 2.6). */
  @ApiProperty({ enum: BACKEND_KIND_VALUES })
  @IsIn(BACKEND_KIND_VALUES)
  kind: BackendKindValue;

  /** rke2 only, required there: the cloud credential clusters are made with (`cattle-global-data:cc-xxxxx`). */
  @IsOmittable()
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]*:[a-z0-9][a-z0-9-]*$/, {
    message: 'cloudCredential must look like cattle-global-data:cc-xxxxx',
  })
  @MaxLength(255)
  cloudCredential?: string;

  @IsOmittable()
  @IsDnsLabel('Region used by placement', 'tokyo')
  region?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOmittable()
  @IsObject()
  labels?: Record<string, string>;

  @IsNestedObject(() => BackendCapacityDto)
  capacity: BackendCapacityDto;

  @ApiPropertyOptional({ enum: BACKEND_STATES })
  @IsOmittable()
  @IsIn(BACKEND_STATES)
  state?: BackendState;

  @ApiProperty(FLAVORS_SCHEMA)
  @IsObject()
  flavors: Record<string, FlavorDto>;
}

/** Every registration field but the name and kind, each optional; URL, token and flavors are re-verified. */
export class UpdateBackendDto extends PartialType(OmitType(RegisterBackendDto, ['name', 'kind'] as const), {
  // A field left out is unchanged; `null` is not a value any of them can take.
  skipNullProperties: false,
}) {}

export class BackendHealthDto {
  @ApiProperty({ enum: ['unknown', 'healthy', 'unhealthy'] })
  state: 'unknown' | 'healthy' | 'unhealthy';
  /** Failed probes in a row (two take the backend out of placement). */
  consecutiveFailures: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  checkedAt: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  lastHealthyAt: string | null;
  @ApiProperty({ type: String, nullable: true })
  lastError: string | null;
}

export class BackendCallsDto {
  /** Rancher calls made by every Paddock process in the last five minutes. */
  calls: number;
  /** Of those, the ones that failed for the backend's sake (5xx, timeouts, refused, breaker open). */
  errors: number;
  errorRate: number;
}

export class BackendDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  name: string;
  url: string;
  @ApiProperty({ enum: BACKEND_KIND_VALUES })
  kind: BackendKindValue;
  @ApiProperty({ type: String, nullable: true })
  cloudCredential: string | null;
  /** Kubernetes versions the backend offers (plain `v1.31.9`), newest first, from its last probe. */
  kubernetesVersions: string[];
  @ApiProperty({ type: String, nullable: true })
  region: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels: Record<string, string>;
  capacity: BackendCapacityDto;
  @ApiProperty({ enum: BACKEND_STATES })
  state: BackendState;
  @ApiProperty(FLAVORS_SCHEMA)
  flavors: Record<string, FlavorDto>;
  /** Live clusters placed on this backend. */
  clusters: number;
  /** Σ desired nodes of live pools on this backend. */
  nodes: number;
  @ApiProperty({ type: String, nullable: true })
  rancherVersion: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  lastSyncAt: string | null;
  @ApiProperty({ type: String, nullable: true })
  lastSyncError: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'Drift found by the last sync' })
  syncReport: Record<string, unknown>;
  health: BackendHealthDto;
  calls: BackendCallsDto;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class BackendListDto {
  @ApiProperty({ type: [BackendDto] })
  items: BackendDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
