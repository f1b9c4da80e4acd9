import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsObject,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsDnsLabel } from '../common/dns-label';
import { IsOmittable } from '../common/validation';
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

export class FlavorDto {
  /** The node template on this backend that realises the flavor, e.g. `cattle-global-nt:nt-x7k2p`. */
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9.-]*:[a-z0-9][a-z0-9.-]*$/, {
    message: 'nodeTemplateId must look like cattle-global-nt:nt-xxxxx',
  })
  nodeTemplateId: string;
}

const FLAVORS_SCHEMA = {
  type: 'object' as const,
  additionalProperties: { $ref: '#/components/schemas/FlavorDto' },
  example: { 'm1.large': { nodeTemplateId: 'cattle-global-nt:nt-x7k2p' } },
  description: 'Our flavor name → what it means on this backend',
};

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

  @ApiProperty({ enum: ['rke1'] })
  @IsIn(['rke1'])
  kind: 'rke1';

  @IsOmittable()
  @IsDnsLabel('Region used by placement', 'tokyo')
  region?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } })
  @IsOmittable()
  @IsObject()
  labels?: Record<string, string>;

  @IsObject()
  @ValidateNested()
  @Type(() => BackendCapacityDto)
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
  @ApiProperty({ enum: ['rke1'] })
  kind: 'rke1';
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
