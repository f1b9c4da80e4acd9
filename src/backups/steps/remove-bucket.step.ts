import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { BackupStorage } from '../backup-storage.service';
import { BackupsRepository } from '../backups.repository';

/**
 * Empties and removes the cluster's bucket once the cluster is gone from the backend. Undoing a
 * create always does (a cluster that never was keeps no bucket); a delete does only with
 * `PADDOCK_BACKUP_BUCKET_ON_DELETE=delete`, since the snapshots of a deleted cluster are what
 * would bring it back.
 */
@Injectable()
export class RemoveBucketStep implements OperationStep {
  static readonly key = 'remove-bucket';

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly storage: BackupStorage,
    private readonly backups: BackupsRepository,
  ) {}

  async run({ cluster, operation }: StepContext): Promise<StepResult> {
    const settings = await this.backups.settingsOf(cluster.id);
    // No intent recorded: the bucket was never asked for, so there is none to remove.
    if (!settings?.bucketIntentAt || settings.bucketRemovedAt) return DONE;
    const undoingCreate = operation.type === 'create-cluster';
    if (!undoingCreate && this.config.backups?.bucketOnDelete !== 'delete') return DONE;
    if (!this.storage.store)
      throw new StepError(
        'BACKUPS_NOT_CONFIGURED',
        `bucket ${settings.bucket} needs an S3 store to be removed`,
        true,
      );
    await this.storage.store.removeBucket(settings.bucket);
    await this.backups.markBucketRemoved(cluster.id);
    return DONE;
  }
}
