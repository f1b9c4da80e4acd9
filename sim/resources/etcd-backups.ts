import { gzipSync } from 'node:zlib';
import { generateName } from '../ids';
import { invalidReference } from '../http';
import { clone, mergeProtectedMap } from '../merge';
import { conditionStatus, setCondition, type Summary } from '../state';
import type { SimObject } from '../store';
import type { World } from '../world';
import { k8sName, k8sTime, requireString, ResourceType, type RequestContext } from './resource-type';

/** `/v3/etcdbackups` (§6): one object per snapshot, `activating` until the snapshot completes. */
export class EtcdBackupType extends ResourceType {
  constructor(world: World) {
    super(world, {
      schemaId: 'etcdBackup',
      plural: 'etcdBackups',
      scoped: true,
      filters: ['name', 'clusterId', 'filename', 'manual'],
      indexed: ['clusterId'],
    });
  }

  /** `POST /v3/etcdbackups {"clusterId", "manual": true}` (terraform `rancher2_etcd_backup`). */
  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const clusterId = requireString(body, 'clusterId');
    const cluster = this.world.clusters.table.get(clusterId);
    if (!cluster) throw invalidReference('clusterId', 'cluster', clusterId);
    return this.createFor(cluster, body.manual !== false);
  }

  /** Starts a snapshot of `cluster` (the `backupEtcd` action and the create above). */
  createFor(cluster: SimObject, manual: boolean): SimObject {
    const s3 = this.world.clusters.s3Target(cluster);
    const s3Usable = s3 !== undefined && typeof s3.bucketName === 'string' && s3.bucketName !== '';
    // `<cluster>-<m|r><l|s>-<random>` (§2.8).
    const prefix = `${cluster.id}-${manual ? 'm' : 'r'}${s3Usable ? 's' : 'l'}-`;
    const name = generateName(prefix, (candidate) => this.table.has(`${cluster.id}:${candidate}`));
    const backupConfig = clone(this.world.clusters.backupConfigOf(cluster));
    const stamp = k8sTime();
    const file = `${name}_${backupConfig?.safeTimestamp === true ? stamp.replace(/:/g, '-') : stamp}.zip`;
    const filename = s3Usable
      ? `https://${String(s3.endpoint ?? 's3.amazonaws.com')}/${String(s3.bucketName)}` +
        `${typeof s3.folder === 'string' && s3.folder !== '' ? `/${s3.folder}` : ''}/${file}`
      : file;
    const backup = this.world.newObject('etcdBackup', `${cluster.id}:${name}`, name, {
      clusterId: cluster.id,
      filename,
      manual,
      backupConfig: backupConfig ?? null,
    });
    backup.hidden.kubernetesVersion = this.world.clusters.kubernetesVersionOf(cluster);
    // The cluster as it was at backup time, for `restoreRkeConfig: "all"` (§6).
    backup.hidden.clusterObject = gzipSync(
      JSON.stringify({ name: cluster.name, spec: cluster.fields.rancherKubernetesEngineConfig }),
    ).toString('base64');
    setCondition(backup.conditions, 'Created', 'True');
    setCondition(backup.conditions, 'Completed', 'Unknown');
    this.table.add(backup);
    this.reconcile(backup);
    return backup;
  }

  override reconcile(backup: SimObject): void {
    if (!this.isLive(backup) || conditionStatus(backup.conditions, 'Completed') !== 'Unknown') return;
    this.world.scheduler.ensure(`${backup.id}#complete`, this.world.timings.etcdBackupMs, () => {
      if (!this.isLive(backup) || conditionStatus(backup.conditions, 'Completed') !== 'Unknown') return;
      if (backup.fields.backupConfig === null) {
        setCondition(
          backup.conditions,
          'Completed',
          'False',
          "cluster doesn't have a backup config",
          'Error',
        );
      } else {
        setCondition(backup.conditions, 'Completed', 'True');
      }
    });
  }

  /** `activating` while running, `failed` on Completed=False (formatter override, §6). */
  override summary(backup: SimObject): Summary {
    if (backup.removed !== undefined) return super.summary(backup);
    const completed = backup.conditions.find((c) => c.type === 'Completed');
    if (completed?.status === 'False') {
      return { state: 'failed', transitioning: 'error', transitioningMessage: completed.message ?? '' };
    }
    if (completed?.status === 'Unknown')
      return { state: 'activating', transitioning: 'yes', transitioningMessage: '' };
    return { state: 'active', transitioning: 'no', transitioningMessage: '' };
  }

  override update(
    backup: SimObject,
    body: Record<string, unknown>,
    _replace: boolean,
    _ctx: RequestContext,
  ): void {
    backup.labels = mergeProtectedMap(backup.labels, body.labels);
    backup.annotations = mergeProtectedMap(backup.annotations, body.annotations);
  }

  kubernetesVersionOf(backup: SimObject): string {
    return backup.hidden.kubernetesVersion as string;
  }

  override renderFields(backup: SimObject, ctx: RequestContext): Record<string, unknown> {
    const out = super.renderFields(backup, ctx);
    out.status = this.status(backup);
    return out;
  }

  /** Conditions live under `status` with the snapshot's metadata (§6). */
  override renderConditions(_backup: SimObject): Record<string, unknown> {
    return {};
  }

  private status(backup: SimObject): Record<string, unknown> {
    return {
      conditions: backup.conditions,
      kubernetesVersion: backup.hidden.kubernetesVersion,
      clusterObject: backup.hidden.clusterObject,
    };
  }

  /** The raw k8s object `backupEtcd` answers with instead of a v3 envelope (§3.6). */
  toK8s(backup: SimObject): Record<string, unknown> {
    return {
      apiVersion: 'management.cattle.io/v3',
      kind: 'EtcdBackup',
      metadata: {
        name: k8sName(backup.id),
        generateName: k8sName(backup.id).slice(0, -5),
        namespace: backup.fields.clusterId,
        uid: backup.uuid,
        creationTimestamp: backup.created,
        annotations: backup.annotations,
        labels: backup.labels,
      },
      spec: {
        clusterId: backup.fields.clusterId,
        filename: backup.fields.filename,
        backupConfig: backup.fields.backupConfig,
        manual: backup.fields.manual,
      },
      status: this.status(backup),
    };
  }
}
