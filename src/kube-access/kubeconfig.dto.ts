import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Min } from 'class-validator';

/** 8 hours: a working day, and no more, when the caller does not say. */
export const DEFAULT_KUBECONFIG_TTL_SECONDS = 8 * 3600;

export class KubeconfigQuery {
  /**
   * How long the kubeconfig's credential works, in seconds: from 1 up to the deployment's
   * `PADDOCK_KUBECONFIG_MAX_TTL` (30 days by default); 8 hours when absent.
   */
  @ApiPropertyOptional({ minimum: 1, default: DEFAULT_KUBECONFIG_TTL_SECONDS, example: 3600 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'ttlSeconds must be a whole number of seconds' })
  @Min(1, { message: 'ttlSeconds must be at least 1' })
  ttlSeconds?: number;
}
