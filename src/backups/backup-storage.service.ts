import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig, BackupSettings } from '../config/app-config';
import type { ClusterBackupSpec, PlannedCall } from '../rancher-backends/backend-driver';
import type { BackupSettingsRecord } from './backup.types';
import { BackupsRepository } from './backups.repository';
import { bucketNameFor, ObjectStore } from './object-store';

/**
 * The S3 side of backups as configured: the store (null when backups are off), the bucket a new
 * cluster gets, and what a driver is told about a cluster's bucket.
 */
@Injectable()
export class BackupStorage implements OnModuleDestroy {
  readonly store: ObjectStore | null;
  readonly settings: BackupSettings | null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly backups: BackupsRepository,
  ) {
    this.settings = config.backups;
    this.store = config.backups ? new ObjectStore(config.backups.s3) : null;
  }

  bucketFor(clusterId: string): string | null {
    return this.settings ? bucketNameFor(this.settings.bucketPrefix, clusterId) : null;
  }

  /**
   * The S3 calls of the create's `ensure-bucket` step, for the `:plan` dry run: look before
   * create (`ObjectStore.ensureBucket`). A retry after a lost CreateBucket answer adds one more
   * HeadBucket; that is not planned. `{id}` stands for the cluster's Paddock id, unknown before
   * the create.
   */
  planBucket(): PlannedCall[] {
    if (!this.settings) return [];
    const path = `/${this.settings.bucketPrefix}-{id}`;
    return [
      {
        method: 'HEAD',
        path,
        purpose: "HeadBucket: look the cluster's bucket up (found: nothing more to do)",
      },
      { method: 'PUT', path, purpose: "CreateBucket: make the cluster's bucket when it is absent" },
    ];
  }

  /** What the backend is told: the schedule and the bucket with the keys (null: the cluster has no backups). */
  targetOf(settings: BackupSettingsRecord | null): ClusterBackupSpec | undefined {
    if (!settings || !this.settings) return undefined;
    const { s3 } = this.settings;
    return {
      schedule: { intervalHours: settings.intervalHours, retention: settings.retention },
      target: {
        endpoint: s3.endpoint,
        region: s3.region,
        bucket: settings.bucket,
        accessKey: s3.accessKeyId,
        secretKey: s3.secretAccessKey,
      },
    };
  }

  async specFor(clusterId: string): Promise<ClusterBackupSpec | undefined> {
    return this.targetOf(await this.backups.settingsOf(clusterId));
  }

  onModuleDestroy(): void {
    this.store?.close();
  }
}
