import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

/** Who a person or a CI system is, as the identity provider names them. */
export const SUBJECT = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,127}$/;
export const SUBJECT_MESSAGE =
  'subject must be 1-128 characters of letters, digits and ._@:+-, starting with a letter or digit';

export class AddMemberDto {
  /** The member's subject (user name or e-mail). */
  @ApiProperty({ example: 'alice@example.com', pattern: SUBJECT.source, maxLength: 128 })
  @IsString()
  @Matches(SUBJECT, { message: SUBJECT_MESSAGE })
  subject: string;
}

export class MemberDto {
  @ApiProperty({ example: 'web' })
  project: string;
  @ApiProperty({ example: 'alice@example.com' })
  subject: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class MemberListDto {
  @ApiProperty({ type: [MemberDto] })
  items: MemberDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
