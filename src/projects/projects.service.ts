import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/auth.guard';
import { conflict, notFound } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { QuotaService } from '../quota/quota.service';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { Project, ProjectsRepository } from './projects.repository';
import { ProjectDto, ProjectListDto } from './project.dto';

export const toProjectDto = (p: Project): ProjectDto => ({
  id: p.id,
  name: p.name,
  createdAt: p.createdAt.toISOString(),
});

@Injectable()
export class ProjectsService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly projects: ProjectsRepository,
    private readonly quotas: QuotaService,
  ) {}

  /** Creates the project with the default quota, in one transaction. */
  async create(name: string): Promise<ProjectDto> {
    return this.uow.run(async () => {
      const project = await this.projects.insert(name);
      if (!project) throw conflict('PROJECT_EXISTS', `project '${name}' already exists`);
      await this.quotas.initialize(project.id);
      return toProjectDto(project);
    });
  }

  /** The projects `principal` can see: all for an admin, its own for a ci token, memberships for a member. */
  async listVisible(principal: Principal, query: PageQuery): Promise<ProjectListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const admin = principal.role === 'admin';
    const rows = await this.projects.listVisible(
      limit,
      after?.key ?? null,
      admin ? null : principal.projectId,
      principal.role === 'member' ? principal.subject : null,
    );
    const page = toPage(rows, limit, (p) => ({ key: p.name, id: p.id }));
    return { items: page.items.map(toProjectDto), nextCursor: page.nextCursor };
  }

  async list(query: PageQuery): Promise<ProjectListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.projects.list(limit, after?.key ?? null);
    const page = toPage(rows, limit, (p) => ({ key: p.name, id: p.id }));
    return { items: page.items.map(toProjectDto), nextCursor: page.nextCursor };
  }

  /** The project a path names, or 404. */
  async require(name: string): Promise<Project> {
    const project = await this.projects.findByName(name);
    if (!project) throw notFound('project', name);
    return project;
  }
}
