import { Module } from '@nestjs/common';
import { Authenticator } from '../common/auth.guard';
import { RateLimiter } from '../common/rate-limiter';
import { QuotaModule } from '../quota/quota.module';
import { AccessService } from './access.service';
import { AdminMembersController } from './admin-members.controller';
import { AdminProjectsController } from './admin-projects.controller';
import { AdminTokensController } from './admin-tokens.controller';
import { MembersRepository } from './members.repository';
import { MembersService } from './members.service';
import { ProjectsController } from './projects.controller';
import { ProjectsRepository } from './projects.repository';
import { ProjectsService } from './projects.service';
import { TokensRepository } from './tokens.repository';
import { TokensService } from './tokens.service';

/** Projects, their members and API tokens; what the guard needs to authenticate and authorize. */
@Module({
  imports: [QuotaModule],
  controllers: [AdminProjectsController, AdminMembersController, AdminTokensController, ProjectsController],
  providers: [
    ProjectsRepository,
    ProjectsService,
    MembersRepository,
    MembersService,
    TokensRepository,
    TokensService,
    AccessService,
    RateLimiter,
    Authenticator,
  ],
  exports: [ProjectsService, AccessService, TokensRepository, RateLimiter, Authenticator],
})
export class ProjectsModule {}
