import { Module } from '@nestjs/common';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import { ClusterReads } from '../clusters/cluster-reads.service';
import { ClustersCoreModule } from '../clusters/clusters-core.module';
import { BackupMetrics } from './backup-metrics.service';
import { BackupsController } from './backups.controller';
import { BackupsService } from './backups.service';

/** The HTTP side of backups: list, take one, restore, change the schedule. */
@Module({
  imports: [ClustersCoreModule],
  controllers: [BackupsController],
  providers: [BackupsService, BackupMetrics, ClusterLookup, ClusterReads],
})
export class BackupsModule {}
