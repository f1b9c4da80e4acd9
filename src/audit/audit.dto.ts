import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '../common/cursor';
import { DNS_LABEL } from '../common/dns-label';

export class AuditEventDto {
  @ApiProperty({ example: '1842' })
  id: string;
  @ApiProperty({ format: 'date-time' })
  at: string;
  /** The token's subject (`anonymous` when the request carried no valid token). */
  @ApiProperty({ example: 'ci-web-deploy' })
  actor: string;
  @ApiProperty({ type: String, nullable: true, enum: ['admin', 'member', 'ci'] })
  role: string | null;
  /** `token:<id>` or `bootstrap-admin`; never a secret. */
  @ApiProperty({ type: String, nullable: true })
  credentialId: string | null;
  @ApiProperty({ type: String, nullable: true, example: 'web' })
  project: string | null;
  /** The operation id of the route (e.g. `createCluster`), or `METHOD path` when no route matched. */
  @ApiProperty({ example: 'createCluster' })
  action: string;
  @ApiProperty({ example: 'POST' })
  method: string;
  /** The path (without query), plus the created object's name for creates. */
  @ApiProperty({ example: '/v1/projects/web/clusters/web-prod' })
  target: string;
  @ApiProperty({ example: 202 })
  status: number;
  /** The problem `code` of a refused or failed request. */
  @ApiProperty({ type: String, nullable: true, example: 'QUOTA_EXCEEDED' })
  code: string | null;
  @ApiProperty({ type: String, nullable: true })
  requestId: string | null;
  /** What the path cannot say: e.g. for `getKubeconfig` the cluster id, ttl and credential id. */
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true })
  details: Record<string, unknown> | null;
  /** The client's address. */
  @ApiProperty({ type: String, nullable: true, example: '10.0.4.17' })
  source: string | null;
  /**
   * Requests this row stands for. Failed authentications are aggregated: the first few from an
   * address in a minute get a row each, the rest of that minute one row with their count.
   */
  @ApiProperty({ example: 1 })
  occurrences: number;
}

export class AuditListDto {
  @ApiProperty({ type: [AuditEventDto] })
  items: AuditEventDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class AuditQuery extends PageQuery {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  actor?: string;

  @ApiPropertyOptional({ pattern: DNS_LABEL.source })
  @IsOptional()
  @IsString()
  @Matches(DNS_LABEL, { message: 'project must be a project name' })
  project?: string;

  /** An operation id such as `createCluster`. */
  @IsOptional()
  @IsString()
  @MaxLength(96)
  action?: string;

  /** Events at or after this time (RFC 3339). */
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'since must be an RFC 3339 date-time' })
  since?: string;

  /** Events before this time (RFC 3339). */
  @IsOptional()
  @IsDateString({ strict: true }, { message: 'until must be an RFC 3339 date-time' })
  until?: string;
}
