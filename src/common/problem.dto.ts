import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldProblemDto {
  /** Path of the offending field, e.g. `nodePools[1].quantity`. */
  field: string;
  message: string;
}

/** RFC 9457 problem details: the shape of every error answer. */
export class ProblemDto {
  @ApiProperty({ example: 'https://paddock.dev/problems/validation-failed' })
  type: string;
  @ApiProperty({ example: 'Bad Request' })
  title: string;
  @ApiProperty({ example: 400 })
  status: number;
  detail: string;
  /** Stable upper-case code: `VALIDATION_FAILED`, `NOT_FOUND`, `OPERATION_IN_PROGRESS`, `QUOTA_EXCEEDED`, ... */
  @ApiProperty({ example: 'VALIDATION_FAILED' })
  code: string;
  @ApiPropertyOptional({ type: [FieldProblemDto] })
  errors?: FieldProblemDto[];
}
