import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

export interface Project {
  id: string;
  name: string;
  createdAt: Date;
}

interface ProjectRow {
  id: string;
  name: string;
  created_at: Date;
}

const toProject = (row: ProjectRow): Project => ({ id: row.id, name: row.name, createdAt: row.created_at });

@Injectable()
export class ProjectsRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Inserts the project, or returns null when the name is taken. */
  async insert(name: string): Promise<Project | null> {
    const rows: ProjectRow[] = await this.uow.manager.query(
      `INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING *`,
      [name],
    );
    return rows.length > 0 ? toProject(rows[0]) : null;
  }

  async findByName(name: string): Promise<Project | null> {
    const rows: ProjectRow[] = await this.uow.manager.query(`SELECT * FROM projects WHERE name = $1`, [name]);
    return rows.length > 0 ? toProject(rows[0]) : null;
  }

  /**
   * Like `list`, narrowed to what a caller sees: `onlyId` (a bound token's project) and, for a
   * member, the projects `memberSubject` belongs to.
   */
  async listVisible(
    limit: number,
    afterName: string | null,
    onlyId: string | null,
    memberSubject: string | null,
  ): Promise<Project[]> {
    const rows: ProjectRow[] = await this.uow.manager.query(
      `SELECT p.* FROM projects p
       WHERE ($1::text IS NULL OR p.name > $1) AND ($3::uuid IS NULL OR p.id = $3)
         AND ($4::text IS NULL OR EXISTS (
           SELECT 1 FROM project_members m WHERE m.project_id = p.id AND m.subject = $4))
       ORDER BY p.name LIMIT $2`,
      [afterName, limit + 1, onlyId, memberSubject],
    );
    return rows.map(toProject);
  }

  /** Keyset page ordered by name (names are unique). Fetches `limit + 1` to detect a next page. */
  async list(limit: number, afterName: string | null): Promise<Project[]> {
    const rows: ProjectRow[] = await this.uow.manager.query(
      `SELECT * FROM projects WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2`,
      [afterName, limit + 1],
    );
    return rows.map(toProject);
  }
}
