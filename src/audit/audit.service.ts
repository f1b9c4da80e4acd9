import { Injectable } from '@nestjs/common';
import { badRequest } from '../common/problem';
import { decodeCursor, DEFAULT_PAGE_SIZE, toPage } from '../common/cursor';
import { AuditListDto, AuditQuery } from './audit.dto';
import { AuditEvent, AuditRepository } from './audit.repository';

const toDto = (e: AuditEvent) => ({
  id: e.id,
  at: e.at.toISOString(),
  actor: e.actor,
  role: e.role,
  credentialId: e.credentialId,
  project: e.project,
  action: e.action,
  method: e.method,
  target: e.target,
  status: e.status,
  code: e.code,
  requestId: e.requestId,
  details: e.details,
  source: e.source,
  occurrences: e.occurrences,
});

@Injectable()
export class AuditService {
  constructor(private readonly events: AuditRepository) {}

  async list(query: AuditQuery): Promise<AuditListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    if (after && !/^\d{1,18}$/.test(after.id)) {
      throw badRequest('cursor is not valid', [
        { field: 'cursor', message: 'cursor is not a cursor this API issued' },
      ]);
    }
    const rows = await this.events.list(
      {
        actor: query.actor ?? null,
        project: query.project ?? null,
        action: query.action ?? null,
        since: query.since ?? null,
        until: query.until ?? null,
      },
      limit,
      after?.id ?? null,
    );
    const page = toPage(rows, limit, (e) => ({ key: e.at.toISOString(), id: e.id }));
    return { items: page.items.map(toDto), nextCursor: page.nextCursor };
  }
}
