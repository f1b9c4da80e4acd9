import { Module } from '@nestjs/common';
import { BackupStorage } from './backup-storage.service';
import { BackupsRepository } from './backups.repository';

/** What both the API and the worker need of backups: their tables and the S3 store. */
@Module({
  providers: [BackupsRepository, BackupStorage],
  exports: [BackupsRepository, BackupStorage],
})
export class BackupsCoreModule {}
