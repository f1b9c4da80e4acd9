import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import {
  OPERATION_STATES,
  OPERATION_TYPES,
  STEP_STATES,
  type OperationState,
  type OperationType,
  type StepState,
} from '../operations/operation.types';
import { ClusterDto } from './cluster.dto';

export class OperationStepDto {
  /** `create-cluster`, `await-roles`, `create-node-pool:<pool>`, `await-active`, `compensate:...` */
  name: string;
  @ApiProperty({ enum: STEP_STATES })
  state: StepState;
  attempts: number;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  startedAt: string | null;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  finishedAt: string | null;
  @ApiProperty({ type: String, nullable: true })
  lastError: string | null;
}

export class OperationErrorDto {
  /** Stable upper-case code, e.g. `BACKEND_REJECTED`, `DEADLINE_EXCEEDED`. */
  code: string;
  message: string;
}

export class OperationDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ enum: OPERATION_TYPES })
  type: OperationType;
  @ApiProperty({ enum: OPERATION_STATES })
  state: OperationState;
  project: string;
  cluster: string;
  @ApiProperty({ format: 'uuid' })
  clusterId: string;
  @ApiProperty({ type: String, nullable: true })
  nodePool: string | null;
  @ApiProperty({ type: [OperationStepDto] })
  steps: OperationStepDto[];
  @ApiProperty({ type: OperationErrorDto, nullable: true })
  error: OperationErrorDto | null;
  /** When a cancel was accepted (the operation stops at its next step boundary); null if none was. */
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  cancelRequestedAt: string | null;
  @ApiProperty({ format: 'date-time' })
  deadlineAt: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' })
  finishedAt: string | null;
}

export class ClusterAcceptedDto {
  cluster: ClusterDto;
  operation: OperationDto;
}

export class WaitQuery {
  /** Long-poll: wait up to this many seconds (max 60) for the operation to finish. */
  @ApiPropertyOptional({ minimum: 0, maximum: 60 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(60)
  waitSeconds?: number;
}
