import { Injectable } from '@nestjs/common';
import { conflict, notFound } from '../common/problem';
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
  constructor(private readonly projects: ProjectsRepository) {}

  async create(name: string): Promise<ProjectDto> {
    const project = await this.projects.insert(name);
    if (!project) throw conflict('PROJECT_EXISTS', `project '${name}' already exists`);
    return toProjectDto(project);
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
