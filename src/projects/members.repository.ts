import { Injectable } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';

export interface Member {
  projectId: string;
  projectName: string;
  subject: string;
  createdAt: Date;
}

interface MemberRow {
  project_id: string;
  project_name: string;
  subject: string;
  created_at: Date;
}

const toMember = (r: MemberRow): Member => ({
  projectId: r.project_id,
  projectName: r.project_name,
  subject: r.subject,
  createdAt: r.created_at,
});

@Injectable()
export class MembersRepository {
  constructor(private readonly uow: UnitOfWork) {}

  /** Adds the member; null when the subject already is one. */
  async insert(projectId: string, subject: string): Promise<Member | null> {
    const rows: MemberRow[] = await this.uow.manager.query(
      `WITH added AS (
         INSERT INTO project_members (project_id, subject) VALUES ($1, $2)
         ON CONFLICT DO NOTHING RETURNING *)
       SELECT a.*, p.name AS project_name FROM added a JOIN projects p ON p.id = a.project_id`,
      [projectId, subject],
    );
    return rows.length > 0 ? toMember(rows[0]) : null;
  }

  async delete(projectId: string, subject: string): Promise<boolean> {
    const [, count]: [unknown[], number] = await this.uow.manager.query(
      `DELETE FROM project_members WHERE project_id = $1 AND subject = $2`,
      [projectId, subject],
    );
    return count > 0;
  }

  async isMember(projectId: string, subject: string): Promise<boolean> {
    const rows: unknown[] = await this.uow.manager.query(
      `SELECT 1 FROM project_members WHERE project_id = $1 AND subject = $2`,
      [projectId, subject],
    );
    return rows.length > 0;
  }

  /** Keyset page ordered by subject; fetches `limit + 1`. */
  async list(projectId: string, limit: number, afterSubject: string | null): Promise<Member[]> {
    const rows: MemberRow[] = await this.uow.manager.query(
      `SELECT m.*, p.name AS project_name FROM project_members m JOIN projects p ON p.id = m.project_id
       WHERE m.project_id = $1 AND ($2::text IS NULL OR m.subject > $2) ORDER BY m.subject LIMIT $3`,
      [projectId, afterSubject, limit + 1],
    );
    return rows.map(toMember);
  }
}
