import { Module } from '@nestjs/common';
import { AdminAuditController } from './admin-audit.controller';
import { AuditSampler } from './audit-sampler';
import { AuditMiddleware } from './audit.middleware';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/**
 * The audit log of mutating requests, and the SRE endpoint that reads it. The middleware is put
 * first in the HTTP pipeline by `configureHttpPipeline`, ahead of the body parser.
 */
@Module({
  controllers: [AdminAuditController],
  providers: [AuditRepository, AuditService, AuditSampler, AuditMiddleware],
  exports: [AuditRepository],
})
export class AuditModule {}
