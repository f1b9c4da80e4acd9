import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Principal, tokenHash } from '../common/auth.guard';
import { decodeCursor, DEFAULT_PAGE_SIZE, toPage } from '../common/cursor';
import { badRequest, notFound } from '../common/problem';
import { MembersRepository } from './members.repository';
import { ProjectsRepository } from './projects.repository';
import { CreatedTokenDto, CreateTokenDto, ListTokensQuery, TokenDto, TokenListDto } from './token.dto';
import { ListedToken, TokenRecord, TokensRepository } from './tokens.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PREFIX_LENGTH = 8;

const toTokenDto = (t: TokenRecord | ListedToken): TokenDto => ({
  id: t.id,
  kind: 'kind' in t ? t.kind : 'api',
  subject: t.subject,
  role: t.role,
  project: t.projectName,
  cluster: 'kind' in t ? t.clusterName : null,
  clusterId: 'kind' in t ? t.clusterId : null,
  prefix: t.prefix,
  createdBy: t.createdBy,
  createdAt: t.createdAt.toISOString(),
  expiresAt: t.expiresAt?.toISOString() ?? null,
  revokedAt: t.revokedAt?.toISOString() ?? null,
});

/** API tokens: `pdk_` + 256 random bits; only the SHA-256 digest and the first characters are kept. */
@Injectable()
export class TokensService {
  constructor(
    private readonly tokens: TokensRepository,
    private readonly projects: ProjectsRepository,
    private readonly members: MembersRepository,
  ) {}

  async issue(body: CreateTokenDto, issuer: Principal): Promise<CreatedTokenDto> {
    const expiresAt = body.expiresAt === undefined ? null : new Date(body.expiresAt);
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw badRequest('invalid request: expiresAt', [
        { field: 'expiresAt', message: 'expiresAt must be in the future' },
      ]);
    }
    if (body.role === 'ci' && body.project === undefined) {
      throw badRequest('invalid request: project', [
        { field: 'project', message: 'a ci token is bound to one project' },
      ]);
    }
    if (body.role === 'admin' && body.project !== undefined) {
      throw badRequest('invalid request: project', [
        { field: 'project', message: 'an admin token is not bound to a project' },
      ]);
    }
    const project = body.project === undefined ? null : await this.projects.findByName(body.project);
    if (body.project !== undefined && !project) {
      throw badRequest('invalid request: project', [
        { field: 'project', message: `project '${body.project}' does not exist` },
      ]);
    }
    if (body.role === 'member' && project && !(await this.members.isMember(project.id, body.subject))) {
      throw badRequest('invalid request: subject', [
        { field: 'subject', message: `'${body.subject}' is not a member of project '${project.name}'` },
      ]);
    }
    const secret = `pdk_${randomBytes(32).toString('base64url')}`;
    const token = await this.tokens.insert({
      hash: tokenHash(secret),
      prefix: secret.slice(0, 4 + PREFIX_LENGTH),
      subject: body.subject,
      role: body.role,
      projectId: project?.id ?? null,
      createdBy: issuer.subject,
      expiresAt,
    });
    return { ...toTokenDto(token), secret };
  }

  async list(query: ListTokensQuery): Promise<TokenListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.tokens.list(
      query.subject ?? null,
      limit,
      after ? { createdAt: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (t) => ({ key: t.createdAt.toISOString(), id: t.id }));
    return { items: page.items.map(toTokenDto), nextCursor: page.nextCursor };
  }

  /**
   * Revokes an API token or a kubeconfig credential at once: both are read on every request.
   * Revoking twice is fine.
   */
  async revoke(id: string): Promise<void> {
    if (!UUID.test(id) || !(await this.tokens.revoke(id))) throw notFound('token', id);
  }
}
