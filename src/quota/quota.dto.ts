import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_TTL_SECONDS } from '../clusters/cluster.dto';

export class QuotaResourceDto {
  /** The most this project may hold. */
  @ApiProperty({ example: 20 })
  limit: number;
  /** Held by finished operations. */
  @ApiProperty({ example: 4 })
  used: number;
  /** Taken by operations still in flight; becomes `used` when they succeed, freed when they fail. */
  @ApiProperty({ example: 1 })
  reserved: number;
  /** `limit - used - reserved`, never below zero. */
  @ApiProperty({ example: 15 })
  available: number;
}

export class QuotaDto {
  @ApiProperty({ example: 'web' })
  project: string;
  /** Live clusters, including those still provisioning and those being deleted. */
  @ApiProperty({ type: QuotaResourceDto })
  clusters: QuotaResourceDto;
  /** Σ requested quantity over the live node pools of live clusters. */
  @ApiProperty({ type: QuotaResourceDto })
  nodes: QuotaResourceDto;
  /** The longest a cluster of this project may live, in seconds; null: no maximum. */
  @ApiProperty({ type: Number, nullable: true, example: 86400 })
  maxClusterLifetimeSeconds: number | null;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export class QuotaListDto {
  @ApiProperty({ type: [QuotaDto] })
  items: QuotaDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class SetQuotaDto {
  /** Maximum live clusters. Lowering it below usage is allowed and only blocks growth. */
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  clusters: number;

  /** Maximum nodes (Σ pool quantity). Lowering it below usage is allowed and only blocks growth. */
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  nodes: number;

  /**
   * The longest a cluster of the project may live, in seconds (a create or PATCH past it is a
   * 422; a create without an expiry gets this one). Omitted or null: no maximum. Existing
   * clusters keep their expiry.
   */
  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 60, example: 86400 })
  @IsOptional()
  @IsInt()
  @Min(60)
  @Max(MAX_TTL_SECONDS)
  maxClusterLifetimeSeconds?: number | null;
}

export class QuotaRepairDto {
  @ApiProperty({ example: 'web' })
  project: string;
  @ApiProperty({ enum: ['clusters', 'nodes'] })
  resource: 'clusters' | 'nodes';
  usedWas: number;
  used: number;
  reservedWas: number;
  reserved: number;
}

export class QuotaReconcileReportDto {
  /** Projects whose counters were compared with the cluster tables. */
  checkedProjects: number;
  /** Counters that disagreed and were set to the recomputed values. */
  @ApiProperty({ type: [QuotaRepairDto] })
  repaired: QuotaRepairDto[];
}
