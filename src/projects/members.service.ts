import { Injectable } from '@nestjs/common';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { conflict, notFound } from '../common/problem';
import { Member, MembersRepository } from './members.repository';
import { MemberDto, MemberListDto } from './member.dto';
import { ProjectsService } from './projects.service';

const toMemberDto = (m: Member): MemberDto => ({
  project: m.projectName,
  subject: m.subject,
  createdAt: m.createdAt.toISOString(),
});

/** Project membership. Checked on every request, so removing a member takes effect at once. */
@Injectable()
export class MembersService {
  constructor(
    private readonly projects: ProjectsService,
    private readonly members: MembersRepository,
  ) {}

  async add(projectName: string, subject: string): Promise<MemberDto> {
    const project = await this.projects.require(projectName);
    const member = await this.members.insert(project.id, subject);
    if (!member) throw conflict('MEMBER_EXISTS', `'${subject}' is already a member of '${projectName}'`);
    return toMemberDto(member);
  }

  async remove(projectName: string, subject: string): Promise<void> {
    const project = await this.projects.require(projectName);
    if (!(await this.members.delete(project.id, subject))) throw notFound('member', subject);
  }

  async list(projectName: string, query: PageQuery): Promise<MemberListDto> {
    const project = await this.projects.require(projectName);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.members.list(project.id, limit, after?.key ?? null);
    const page = toPage(rows, limit, (m) => ({ key: m.subject, id: m.projectId }));
    return { items: page.items.map(toMemberDto), nextCursor: page.nextCursor };
  }
}
