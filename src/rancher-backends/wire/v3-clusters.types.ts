/** Rancher norman `/v3` clusters (rancher-api.md §3) and their mapping to `RemoteCluster`. */

import {
  componentConditionType,
  type ClusterCreateSpec,
  type RemoteCluster,
  type RemoteCondition,
} from '../backend-driver';
import { toBackupConfig, type V3BackupConfig } from './v3-backups.types';
import {
  plainKubernetesVersion,
  toConditionStatus,
  toLabels,
  toStatus,
  type V3Resource,
} from './v3-common.types';

export interface V3RkeConfig {
  kubernetesVersion?: string;
  network?: { plugin?: string };
  /** Set by `restoreFromEtcdBackup`; the provisioner clears `restore` once the restore is done (§3.6). */
  restore?: { restore?: boolean; snapshotName?: string } | null;
}

/** One entry of a cluster's `componentStatuses` (§3.2): Kubernetes' deprecated ComponentStatus. */
export interface V3ComponentStatus {
  name?: string;
  conditions?: Array<{ type?: string; status?: string; message?: string; error?: string }> | null;
}

export interface V3Cluster extends V3Resource {
  driver?: string;
  componentStatuses?: V3ComponentStatus[] | null;
  nodeCount?: number;
  rancherKubernetesEngineConfig?: V3RkeConfig | null;
  version?: { gitVersion?: string } | null;
}

/** Body of `POST /v3/clusters` for an RKE1 node-pool cluster. */
export interface V3ClusterCreate {
  type: 'cluster';
  name: string;
  labels: Record<string, string>;
  rancherKubernetesEngineConfig: {
    kubernetesVersion?: string;
    network: { plugin: 'canal' };
    services?: { etcd: { backupConfig: V3BackupConfig } };
  };
}

/**
 * RKE1 reports control-plane health as `componentStatuses` (filled only for Kubernetes < 1.22,
 * §3.2); each becomes a `ComponentHealthy/<name>` condition so that callers see one list.
 */
function componentConditions(c: V3Cluster): RemoteCondition[] {
  return (c.componentStatuses ?? [])
    .filter(
      (cs): cs is V3ComponentStatus & { name: string } => typeof cs?.name === 'string' && cs.name !== '',
    )
    .map((cs) => {
      const healthy = (cs.conditions ?? []).find((x) => x?.type === 'Healthy');
      const condition: RemoteCondition = {
        type: componentConditionType(cs.name),
        status: toConditionStatus(healthy?.status),
      };
      const message = healthy?.error || healthy?.message;
      if (message) condition.message = message;
      return condition;
    });
}

/**
 * A management cluster that is the `/v3` twin (`c-m-xxxxxxxx`) of a provisioning-v2 cluster: Rancher
 * marks every twin it generates with `provisioning.cattle.io/administrated` and copies the
 * provisioning cluster's labels onto it, Paddock's included. It is reached (and counted) through
 * `/v1`, never as an RKE1 cluster.
 */
export function isProvisioningTwin(c: V3Cluster): boolean {
  return Object.hasOwn(c.annotations ?? {}, 'provisioning.cattle.io/administrated');
}

export function toRemoteCluster(c: V3Cluster): RemoteCluster {
  const status = toStatus(c);
  status.conditions.push(...componentConditions(c));
  return {
    ...status,
    id: c.id,
    managementId: c.id,
    name: c.name ?? '',
    labels: toLabels(c.labels),
    removing: status.state === 'removing' || Boolean(c.removed),
    nodeCount: typeof c.nodeCount === 'number' ? c.nodeCount : 0,
    // The version the cluster runs, as its agent reports it (`version.gitVersion`): during an
    // upgrade the spec already names the new version while the nodes still run the old one, and
    // an upgrade is done only once this moves. The spec's version stands in until the agent has
    // connected (a cluster still provisioning).
    kubernetesVersion:
      plainKubernetesVersion(c.version?.gitVersion) ??
      plainKubernetesVersion(c.rancherKubernetesEngineConfig?.kubernetesVersion),
  };
}

export function toClusterCreate(spec: ClusterCreateSpec): V3ClusterCreate {
  const rke: V3ClusterCreate['rancherKubernetesEngineConfig'] = { network: { plugin: 'canal' } };
  if (spec.kubernetesVersion) rke.kubernetesVersion = spec.kubernetesVersion;
  if (spec.backup) rke.services = { etcd: { backupConfig: toBackupConfig(spec.backup) } };
  return { type: 'cluster', name: spec.name, labels: { ...spec.labels }, rancherKubernetesEngineConfig: rke };
}
