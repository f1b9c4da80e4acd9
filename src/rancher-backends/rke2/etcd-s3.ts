/**
 * Where an rke2 cluster's etcd snapshots go (rancher-212.md §5): S3, through a cloud credential
 * made once per cluster (the keys live only there: never in the cluster object, a log or an
 * answer), and `rkeConfig.etcd.s3` naming it.
 */

import type { ClusterBackupSpec } from '../backend-driver';
import { PADDOCK_LABELS } from '../backend-driver';
import { RancherClient } from '../rancher-client';
import type { V3Resource } from '../wire/v3.types';
import { ROUTES, deleteQuietly } from './steve-requests';

/** The cluster's S3 credential, looked up by name before it is made; its id for `cloudCredentialName`. */
export async function ensureBackupCredential(
  client: RancherClient,
  paddockId: string,
  backup: ClusterBackupSpec,
): Promise<string> {
  const name = credentialNameOf(paddockId);
  const found = await findBackupCredential(client, name);
  if (found) return found;
  const res = await client.request<V3Resource>({
    method: 'POST',
    route: ROUTES.cloudCredentials,
    body: {
      type: 'cloudCredential',
      name,
      labels: { [PADDOCK_LABELS.managed]: 'true', [PADDOCK_LABELS.clusterId]: paddockId },
      s3credentialConfig: {
        accessKey: backup.target.accessKey,
        secretKey: backup.target.secretKey,
        defaultRegion: backup.target.region,
        defaultEndpoint: rke2S3Endpoint(backup.target.endpoint).host,
        defaultBucket: backup.target.bucket,
      },
    },
  });
  if (typeof res.data?.id !== 'string')
    throw client.unexpected({ method: 'POST', path: ROUTES.cloudCredentials }, 'expected a credential id');
  return res.data.id;
}

export async function findBackupCredential(client: RancherClient, name: string): Promise<string | null> {
  // Norman ignores unknown filters (rancher-api.md §2.4): the name is checked again here.
  const items = await client.listAll<V3Resource & { name?: string }>(ROUTES.cloudCredentials, {
    name,
  });
  return items.find((c) => c.name === name && c.id)?.id ?? null;
}

/** Removes the cluster's S3 credential (Rancher refuses while a cluster still names it). */
export async function releaseBackupCredential(client: RancherClient, paddockId: string): Promise<void> {
  const id = await findBackupCredential(client, credentialNameOf(paddockId));
  if (id) await deleteQuietly(client, ROUTES.cloudCredential, { id });
}

/** One credential per cluster, found again by this name. */
export const credentialNameOf = (paddockId: string) => `paddock-etcd-${paddockId}`;

/**
 * The endpoint as RKE2/K3s take it. Rancher passes `rkeConfig.etcd.s3.endpoint` through unchanged
 * as `etcd-s3-endpoint` (pkg/capr/planner/s3args.go), and k3s hands it to minio-go's `minio.New`
 * with `Secure: !etcd-s3-insecure` (k3s pkg/etcd/s3/s3.go): it wants `host[:port]` and speaks
 * HTTPS unless told otherwise; minio-go refuses an `http://` URL while secure (utils.go
 * `getEndpointURL`), and older minio-go releases refuse any scheme.
 */
export function rke2S3Endpoint(endpoint: string): { host: string; insecure: boolean } {
  const match = /^(https?):\/\/([^/]+)\/?$/i.exec(endpoint.trim());
  if (!match) return { host: endpoint.trim(), insecure: false };
  return { host: match[2], insecure: match[1].toLowerCase() === 'http' };
}

/**
 * Rancher's S3 block has no "insecure" field (ETCDSnapshotS3 in pkg/apis/rke.cattle.io/v1:
 * endpoint, endpointCA, skipSSLVerify, bucket, region, cloudCredentialName, folder), so a plain
 * HTTP endpoint is asked for the one other way Rancher offers: `machineGlobalConfig`, which the
 * planner writes into the same config.yaml as the `etcd-s3-*` settings (planner/config.go
 * `addConfigFile`: `addUserConfig`, then `addETCD`), read by the server and by `etcd-snapshot save`.
 */
export function insecureS3Config(backup: ClusterBackupSpec): {
  machineGlobalConfig?: Record<string, unknown>;
} {
  return rke2S3Endpoint(backup.target.endpoint).insecure
    ? { machineGlobalConfig: { 'etcd-s3-insecure': true } }
    : {};
}

/**
 * `rkeConfig.etcd` for a schedule. Cron has no "every N hours" past a day: intervals of a day or
 * more become every round(N/24) days at midnight.
 */
export function toEtcdConfig(backup: ClusterBackupSpec, credential: string): Record<string, unknown> {
  const hours = backup.schedule.intervalHours;
  const cron = hours < 24 ? `0 */${hours} * * *` : `0 0 */${Math.round(hours / 24)} * *`;
  return {
    snapshotScheduleCron: cron,
    snapshotRetention: backup.schedule.retention,
    s3: {
      bucket: backup.target.bucket,
      endpoint: rke2S3Endpoint(backup.target.endpoint).host,
      region: backup.target.region,
      cloudCredentialName: credential,
    },
  };
}
