import { Injectable } from '@nestjs/common';
import { OperationsRepository } from '../../operations/operations.repository';
import { DONE, OperationStep, StepContext, StepError, StepResult } from '../../operations/operation-step';
import { isBackendError } from '../../rancher-backends/backend.errors';

/**
 * Asks the backend to run the new version (rke1: a PUT of the cluster with its name; rke2: an
 * update with the resourceVersion read). Safe to run again: the driver writes nothing when the
 * cluster already asks for the version. Rancher's refusal (rke1's "not enough worker nodes ready
 * to upgrade") fails the operation at once as `UPGRADE_REFUSED`: the same request refused again a
 * moment later would only hide the reason behind retries until the deadline.
 */
@Injectable()
export class SetKubernetesVersionStep implements OperationStep {
  static readonly key = 'set-kubernetes-version';

  constructor(private readonly operations: OperationsRepository) {}

  async run({ cluster, operation, driver }: StepContext): Promise<StepResult> {
    const version = operation.params.kubernetesVersion;
    if (!version || !cluster.rancherId)
      throw new StepError('CLUSTER_NOT_CREATED', 'the cluster is not on the backend', false);
    try {
      await driver.setKubernetesVersion(cluster.rancherId, version);
    } catch (error) {
      if (isBackendError(error) && error.kind === 'invalid') {
        throw new StepError(
          'UPGRADE_REFUSED',
          `the backend refused the upgrade to ${version}: ${error.detail}`,
          false,
        );
      }
      throw error;
    }
    await this.operations.mergeParams(operation.id, { versionWritten: true });
    return DONE;
  }
}
