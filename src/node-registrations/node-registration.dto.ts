import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsOmittable } from '../common/validation';
import { MAX_NODE_TAINTS } from './node-labels';
import { TAINT_EFFECTS, type RegistrationState, type TaintEffect } from './node-registration.types';

/** At most this many servers per registration; more is a second registration. */
export const MAX_REGISTRATION_COUNT = 100;
/** A registration may stay open at most a week: a join command is a credential. */
export const MAX_REGISTRATION_TTL_SECONDS = 7 * 24 * 3600;

export class NodeTaintDto {
  /** Kubernetes taint key, e.g. `nvidia.com/gpu`. */
  @IsString()
  @MaxLength(317)
  key: string;

  @ApiPropertyOptional({ example: 'true' })
  @IsOmittable()
  @IsString()
  @MaxLength(63)
  value?: string;

  @ApiProperty({ enum: TAINT_EFFECTS })
  @IsIn(TAINT_EFFECTS, { message: `effect must be one of ${TAINT_EFFECTS.join(', ')}` })
  effect: TaintEffect;
}

export class CreateNodeRegistrationDto {
  /** How many servers may join with the command (1–100); that many nodes of the project's quota are held. */
  @IsInt()
  @Min(1)
  @Max(MAX_REGISTRATION_COUNT)
  count: number;

  /** Kubernetes labels the joined nodes get (`--label`). */
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { 'gpu.example.com/model': 'a100' },
  })
  @IsOmittable()
  @IsObject()
  labels?: Record<string, string>;

  /** Kubernetes taints the joined nodes get (`--taints`). */
  @ApiPropertyOptional({ type: [NodeTaintDto] })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(MAX_NODE_TAINTS)
  @ValidateNested({ each: true })
  @Type(() => NodeTaintDto)
  taints?: NodeTaintDto[];

  /** How long the command works (1 s – 7 days); the server's default when absent. */
  @ApiPropertyOptional({ example: 3600 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_REGISTRATION_TTL_SECONDS)
  ttlSeconds?: number;
}

export class NodeRegistrationDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  cluster: string;
  /** Servers the registration was made for. */
  count: number;
  /** Servers that joined with it and count against the quota now. */
  joined: number;
  /** Slots given back by joined servers that were removed. */
  released: number;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } })
  labels: Record<string, string>;
  @ApiProperty({ type: [NodeTaintDto] })
  taints: NodeTaintDto[];
  /** `open` while servers may join; `revoked`, `expired` or `cluster-deleted` after. */
  @ApiProperty({ enum: ['open', 'revoked', 'expired', 'cluster-deleted'] })
  state: RegistrationState;
  @ApiProperty({ format: 'date-time' })
  expiresAt: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  closedAt: string | null;
}

export class CreatedNodeRegistrationDto extends NodeRegistrationDto {
  /**
   * The worker-only join command to run on each server. It holds a registration token: shown
   * once, here, never stored by Paddock; it stops working when the registration is revoked or
   * expires.
   */
  command: string;
}

export class NodeRegistrationListDto {
  @ApiProperty({ type: [NodeRegistrationDto] })
  items: NodeRegistrationDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
