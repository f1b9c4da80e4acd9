import { Injectable } from '@nestjs/common';
import type { Principal } from '../common/auth.guard';
import { MembersRepository } from './members.repository';

/**
 * Which projects a caller can see, for objects reached without a `{project}` in the path (an
 * operation by id). Routes with `{project}` are checked by the guard.
 */
@Injectable()
export class AccessService {
  constructor(private readonly members: MembersRepository) {}

  async canSee(principal: Principal, projectId: string): Promise<boolean> {
    if (principal.role === 'admin') return true;
    if (principal.projectId !== null && principal.projectId !== projectId) return false;
    if (principal.role === 'ci') return true;
    return this.members.isMember(projectId, principal.subject);
  }
}
