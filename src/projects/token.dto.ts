import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { PageQuery } from '../common/cursor';
import { DNS_LABEL } from '../common/dns-label';
import { IsOmittable } from '../common/validation';
import { SUBJECT, SUBJECT_MESSAGE } from './member.dto';

export const TOKEN_ROLES = ['admin', 'member', 'ci'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export class CreateTokenDto {
  /** Who the token acts for (a person, or a CI pipeline's name). */
  @ApiProperty({ example: 'ci-web-deploy', pattern: SUBJECT.source, maxLength: 128 })
  @IsString()
  @Matches(SUBJECT, { message: SUBJECT_MESSAGE })
  subject: string;

  /** `admin` (SRE, everything), `member` (the projects its subject is a member of), `ci` (one project). */
  @ApiProperty({ enum: TOKEN_ROLES })
  @IsIn(TOKEN_ROLES)
  role: TokenRole;

  /** Required for `ci`; optional for `member` (narrows it to that project); not allowed for `admin`. */
  @ApiPropertyOptional({ example: 'web', pattern: DNS_LABEL.source })
  @IsOmittable()
  @IsString()
  @Matches(DNS_LABEL, { message: 'project must be a project name' })
  project?: string;

  /** When the token stops working (RFC 3339); omitted = never. */
  @ApiPropertyOptional({ format: 'date-time' })
  @IsOmittable()
  @IsDateString({ strict: true }, { message: 'expiresAt must be an RFC 3339 date-time' })
  expiresAt?: string;
}

export const TOKEN_KINDS = ['api', 'kubeconfig'] as const;

export class TokenDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  /** `api`: an API token; `kubeconfig`: the credential of a kubeconfig Paddock issued (one cluster only). */
  @ApiProperty({ enum: TOKEN_KINDS })
  kind: (typeof TOKEN_KINDS)[number];
  @ApiProperty({ example: 'ci-web-deploy' })
  subject: string;
  @ApiProperty({ enum: TOKEN_ROLES })
  role: TokenRole;
  @ApiProperty({ type: String, nullable: true, example: 'web' })
  project: string | null;
  /** A kubeconfig credential's cluster (name and id); null for API tokens. */
  @ApiProperty({ type: String, nullable: true, example: 'web-prod' })
  cluster: string | null;
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  clusterId: string | null;
  /** The secret's first characters, to tell tokens apart; not enough to use it. */
  @ApiProperty({ example: 'pdk_Q2xh' })
  prefix: string;
  @ApiProperty({ example: 'bootstrap-admin' })
  createdBy: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  expiresAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  revokedAt: string | null;
}

export class CreatedTokenDto extends TokenDto {
  /**
   * The bearer secret. Shown in this answer only; Paddock keeps a SHA-256 digest of it. Absent
   * from an idempotent replay (see `secretWithheld`): lost secrets are revoked and reissued.
   */
  @ApiPropertyOptional({ example: 'pdk_Q2xhc3NpYyBleGFtcGxlIHNlY3JldCBub3QgcmVhbA' })
  secret?: string;
  /** True on an idempotent replay: the secret was shown in the first answer only. */
  @ApiPropertyOptional({ example: true })
  secretWithheld?: boolean;
}

export class TokenListDto {
  @ApiProperty({ type: [TokenDto] })
  items: TokenDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}

export class ListTokensQuery extends PageQuery {
  /** Only the tokens of this subject. */
  @IsOptional()
  @IsString()
  @Matches(SUBJECT, { message: SUBJECT_MESSAGE })
  subject?: string;
}
