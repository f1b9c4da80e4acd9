import { HttpStatus, Injectable } from '@nestjs/common';
import { conflict, ProblemError } from '../common/problem';
import { OperationRecorder } from '../operations/operation-recorder.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import {
  backendVersionOf,
  compareVersions,
  offeredFor,
  plainVersion,
  plainVersions,
  versionParts,
} from '../rancher-backends/kubernetes-versions';
import type { ClusterRecord } from './cluster.types';
import { ClustersRepository } from './clusters.repository';

const unprocessable = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemError(HttpStatus.UNPROCESSABLE_ENTITY, code, detail, extensions, [
    { field: 'kubernetesVersion', message: detail },
  ]);

/**
 * The decision to upgrade a cluster, in the caller's transaction. The request is judged first
 * (it is wrong whatever the cluster is doing: 422), the cluster's state second (409, worth trying
 * again later):
 * - a version the cluster runs already is no change (null: nothing recorded), so a PATCH that is
 *   sent twice gets the same answer, as PATCH should;
 * - `DOWNGRADE_NOT_ALLOWED`: lower than what runs (etcd and the API objects written by a newer
 *   version are not promised to work on an older one);
 * - `VERSION_SKEW`: more than one minor step (Kubernetes' version skew policy: a control plane
 *   moves one minor at a time);
 * - `VERSION_NOT_AVAILABLE`: not offered by the cluster's backend, listing what it offers;
 * - 409 `OPERATION_IN_PROGRESS` while another operation runs (as every change), 409
 *   `CLUSTER_NOT_ACTIVE` unless the cluster is `active` with a known version.
 */
@Injectable()
export class ClusterUpgrades {
  constructor(
    private readonly backends: BackendsRepository,
    private readonly clusters: ClustersRepository,
    private readonly recorder: OperationRecorder,
  ) {}

  /** Records the `upgrade` operation `operationId`; false when the cluster runs `wanted` already. */
  async recordInTransaction(cluster: ClusterRecord, wanted: string, operationId: string): Promise<boolean> {
    const backend = await this.backends.findById(cluster.backendId);
    if (!backend) throw new Error(`backend ${cluster.backendId} of cluster ${cluster.id} has no record`);
    const current = cluster.kubernetesVersion ? versionParts(cluster.kubernetesVersion) : null;
    const resolved = backendVersionOf(backend.kind, backend.kubernetesVersions, wanted);
    const target = resolved ? plainVersion(resolved) : null;
    // `v1.32` is judged as its newest patch on offer, or as `v1.32.0` when none is.
    const asked = versionParts(target ?? (wanted.split('.').length === 2 ? `${wanted}.0` : wanted));
    if (!asked) throw new Error(`kubernetesVersion ${wanted} passed validation but is not a version`);
    if (current) {
      if (compareVersions(asked, current) === 0) return false;
      if (compareVersions(asked, current) < 0) {
        throw unprocessable(
          'DOWNGRADE_NOT_ALLOWED',
          `cluster '${cluster.name}' runs ${cluster.kubernetesVersion}; ${target ?? wanted} would be a downgrade`,
          { current: cluster.kubernetesVersion },
        );
      }
      if (asked[0] !== current[0] || asked[1] - current[1] > 1) {
        throw unprocessable(
          'VERSION_SKEW',
          `cluster '${cluster.name}' runs ${cluster.kubernetesVersion}; upgrade one minor version at a time ` +
            `(to v${current[0]}.${current[1] + 1} at most)`,
          { current: cluster.kubernetesVersion },
        );
      }
    }
    if (!target) {
      const available = plainVersions(offeredFor(backend.kind, backend.kubernetesVersions));
      throw unprocessable(
        'VERSION_NOT_AVAILABLE',
        `Kubernetes ${wanted} is not offered by this cluster's backend; available: ${available.join(', ') || 'none listed'}`,
        { available },
      );
    }
    if (cluster.activeOperationId) {
      throw conflict(
        'OPERATION_IN_PROGRESS',
        'another operation is changing this cluster; wait for it to finish',
        {
          clusterId: cluster.id,
        },
      );
    }
    if (cluster.state !== 'active' || !current) {
      throw conflict(
        'CLUSTER_NOT_ACTIVE',
        current
          ? `cluster '${cluster.name}' is ${cluster.state}; only an active cluster can be upgraded`
          : `cluster '${cluster.name}' has not reported its Kubernetes version yet`,
        { state: cluster.state },
      );
    }
    await this.recorder.recordInTransaction({
      id: operationId,
      type: 'upgrade',
      projectId: cluster.projectId,
      clusterId: cluster.id,
      nodePoolId: null,
      pools: [],
      params: {
        kubernetesVersion: target,
        previousKubernetesVersion: cluster.kubernetesVersion ?? undefined,
      },
      backendKind: backend.kind,
    });
    await this.clusters.setState(cluster.id, 'updating');
    return true;
  }
}
