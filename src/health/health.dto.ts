import { ApiProperty } from '@nestjs/swagger';

const CHECK_STATES = ['up', 'down'] as const;

export class ReadinessChecksDto {
  @ApiProperty({ enum: CHECK_STATES })
  postgres: 'up' | 'down';
  @ApiProperty({ enum: CHECK_STATES })
  redis: 'up' | 'down';
}

/** 200 with `ok` when every dependency answered within a second; 503 with `unavailable` otherwise. */
export class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'unavailable'] })
  status: 'ok' | 'unavailable';
  checks: ReadinessChecksDto;
}
