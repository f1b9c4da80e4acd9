import { gzipSync } from 'node:zlib';
import { generateName } from '../ids';
import { invalidReference } from '../http';
import { clone, mergeProtectedMap } from '../merge';
import { deleteSnapshot, downloadSnapshot, s3Reason, s3TargetOf, uploadSnapshot, type S3Target } from '../s3';
import { conditionStatus, isTrue, setCondition, type Summary } from '../state';
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
    backup.hidden.file = file;
    // rke-tools uploads with the keys the cluster has now; the secret never shows in the object.
    // Without keys a real node would use its IAM role; a simulator has none, so such a backup
    // completes without an upload (and Rancher does not check such a bucket either).
    const target = s3Usable ? s3TargetOf(s3, cluster.hidden.s3SecretKey as string | undefined) : null;
    if (target && target.accessKey !== '' && target.secretKey !== '') backup.hidden.s3 = target;
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

  /** A recurring local backup that already completed, for `/__sim/seed` (no timer, no S3). */
  createCompleted(cluster: SimObject): SimObject {
    const name = generateName(`${cluster.id}-rl-`, (candidate) =>
      this.table.has(`${cluster.id}:${candidate}`),
    );
    const backup = this.world.newObject('etcdBackup', `${cluster.id}:${name}`, name, {
      clusterId: cluster.id,
      filename: `${name}_${k8sTime().replace(/:/g, '-')}.zip`,
      manual: false,
      backupConfig: clone(this.world.clusters.backupConfigOf(cluster)) ?? null,
    });
    backup.hidden.kubernetesVersion = this.world.clusters.kubernetesVersionOf(cluster);
    setCondition(backup.conditions, 'Created', 'True');
    setCondition(backup.conditions, 'Completed', 'True');
    this.table.add(backup);
    return backup;
  }

  override reconcile(backup: SimObject): void {
    if (!this.isLive(backup) || conditionStatus(backup.conditions, 'Completed') !== 'Unknown') return;
    this.world.scheduler.ensure(`${backup.id}#complete`, this.world.timings.etcdBackupMs, () => {
      if (!this.isLive(backup) || conditionStatus(backup.conditions, 'Completed') !== 'Unknown') return;
      if (backup.fields.backupConfig === null) {
        this.complete(backup, "cluster doesn't have a backup config");
        return;
      }
      const target = backup.hidden.s3 as S3Target | undefined;
      if (!target) {
        this.complete(backup, null);
        return;
      }
      uploadSnapshot(target, backup.hidden.file as string, {
        name: backup.name,
        clusterState: String(backup.hidden.clusterObject),
      }).then(
        () => this.complete(backup, null),
        (error: unknown) =>
          this.complete(backup, `failed to upload etcd snapshot file to s3: ${s3Reason(error)}`),
      );
    });
  }

  /** `Completed` True or False; a recurring backup then rotates the cluster's older ones (§6). */
  private complete(backup: SimObject, failure: string | null): void {
    if (!this.isLive(backup)) return;
    if (failure === null) setCondition(backup.conditions, 'Completed', 'True');
    else setCondition(backup.conditions, 'Completed', 'False', failure, 'Error');
    if (backup.fields.manual !== true) this.rotate(backup.fields.clusterId as string);
  }

  /**
   * Retention: successful recurring backups beyond `retention` are deleted, newest kept, and
   * failed recurring ones too; manual backups stay. A rotated S3 snapshot leaves the bucket.
   */
  private rotate(clusterId: string): void {
    const cluster = this.world.clusters.table.get(clusterId);
    if (!cluster) return;
    const config = this.world.clusters.backupConfigOf(cluster);
    const retention = typeof config?.retention === 'number' && config.retention > 0 ? config.retention : 6;
    const recurring = this.table
      .where('clusterId', clusterId)
      .filter((b) => this.isLive(b) && b.fields.manual !== true)
      .sort((a, b) => b.createdTS - a.createdTS || (b.id < a.id ? -1 : 1));
    let kept = 0;
    for (const backup of recurring) {
      const completed = conditionStatus(backup.conditions, 'Completed');
      if (completed === 'Unknown') continue;
      if (completed === 'True' && kept < retention) {
        kept++;
        continue;
      }
      const target = backup.hidden.s3 as S3Target | undefined;
      if (target) deleteSnapshot(target, backup.hidden.file as string).catch(() => undefined);
      this.remove(backup);
    }
  }

  /**
   * Recurring backups: every `intervalHours` (`backupHourMs` to the simulated hour) while the
   * cluster is Ready and its backup config is enabled (§6).
   */
  armRecurring(cluster: SimObject): void {
    const config = this.world.clusters.backupConfigOf(cluster);
    if (!config || config.enabled === false) return;
    const hours =
      typeof config.intervalHours === 'number' && config.intervalHours > 0 ? config.intervalHours : 12;
    this.world.scheduler.ensure(
      `${cluster.id}#recurring-backup`,
      hours * this.world.timings.backupHourMs,
      () => {
        if (!this.world.clusters.isLive(cluster)) return;
        if (isTrue(cluster.conditions, 'Ready')) this.createFor(cluster, false);
        this.armRecurring(cluster);
      },
    );
  }

  /**
   * What a restore does with the snapshot: read it back from S3 with the keys the cluster has now.
   * Null when it can be restored; otherwise the failure as the cluster reports it.
   */
  async readBack(backup: SimObject, cluster: SimObject): Promise<string | null> {
    const target = backup.hidden.s3 as S3Target | undefined;
    if (!target) return null;
    const current = s3TargetOf(
      this.world.clusters.s3Target(cluster) ?? {},
      cluster.hidden.s3SecretKey as string | undefined,
    );
    const keys = current && current.accessKey !== '' ? current : target;
    try {
      await downloadSnapshot(
        { ...target, accessKey: keys.accessKey, secretKey: keys.secretKey },
        backup.hidden.file as string,
      );
      return null;
    } catch (error) {
      return `[etcd] Failed to restore etcd snapshot: failed to download etcd snapshot ${backup.hidden.file as string} from s3: ${s3Reason(error)}`;
    }
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
