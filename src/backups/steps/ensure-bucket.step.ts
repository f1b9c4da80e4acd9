import { Injectable } from '@nestjs/common';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { BackupStorage } from '../backup-storage.service';
import { BackupsRepository } from '../backups.repository';

/**
 * Makes the cluster's bucket before the cluster exists on the backend (RKE1 refuses a cluster
 * whose bucket is missing). The intent is recorded first, so a crash right after the bucket was
 * made still leaves the record that undoing the create needs to remove it.
 */
@Injectable()
export class EnsureBucketStep implements OperationStep {
  static readonly key = 'ensure-bucket';

  constructor(
    private readonly storage: BackupStorage,
    private readonly backups: BackupsRepository,
  ) {}

  async run({ cluster }: StepContext): Promise<StepResult> {
    const settings = await this.backups.settingsOf(cluster.id);
    if (!settings) return DONE;
    if (!this.storage.store)
      throw new StepError(
        'BACKUPS_NOT_CONFIGURED',
        'the cluster has backups but no S3 store is configured',
        true,
      );
    await this.backups.markBucketIntent(cluster.id);
    await this.storage.store.ensureBucket(settings.bucket);
    return DONE;
  }
}
