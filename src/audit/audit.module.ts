import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { AdminAuditController } from './admin-audit.controller';
import { AuditMiddleware } from './audit.middleware';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/** The audit log of mutating requests, and the SRE endpoint that reads it. */
@Module({
  controllers: [AdminAuditController],
  providers: [AuditRepository, AuditService, AuditMiddleware],
  exports: [AuditRepository],
})
export class AuditModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(AuditMiddleware).forRoutes('*');
  }
}
