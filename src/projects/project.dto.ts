import { ApiProperty } from '@nestjs/swagger';
import { IsDnsLabel } from '../common/dns-label';

export class CreateProjectDto {
  @IsDnsLabel('Project name, used in URLs', 'web')
  name: string;
}

export class ProjectDto {
  @ApiProperty({ format: 'uuid' })
  id: string;
  @ApiProperty({ example: 'web' })
  name: string;
  @ApiProperty({ format: 'date-time' })
  createdAt: string;
}

export class ProjectListDto {
  @ApiProperty({ type: [ProjectDto] })
  items: ProjectDto[];
  @ApiProperty({ type: String, nullable: true })
  nextCursor: string | null;
}
