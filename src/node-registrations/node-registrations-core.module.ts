import { Module } from '@nestjs/common';
import { QuotaModule } from '../quota/quota.module';
import { NodeRegistrationLedger } from './node-registration-ledger.service';
import { NodeRegistrationsRepository } from './node-registrations.repository';

/** What the API, the sync, the steps and the cluster delete share: the rows and their quota moves. */
@Module({
  imports: [QuotaModule],
  providers: [NodeRegistrationsRepository, NodeRegistrationLedger],
  exports: [NodeRegistrationsRepository, NodeRegistrationLedger],
})
export class NodeRegistrationsCoreModule {}
