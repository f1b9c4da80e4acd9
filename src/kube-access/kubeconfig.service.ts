import { Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { stringify } from 'yaml';
import { AuditRepository } from '../audit/audit.repository';
import { Principal, tokenHash } from '../common/auth.guard';
import { badRequest, conflict, notFound } from '../common/problem';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { UnitOfWork } from '../database/unit-of-work';
import { KUBECONFIG_SECRET_PREFIX } from './kube-authenticator.service';
import { KubeAccessRepository } from './kube-access.repository';
import { DEFAULT_KUBECONFIG_TTL_SECONDS } from './kubeconfig.dto';

/** Characters of the secret kept beside the digest, to tell credentials apart in a list. */
const PREFIX_LENGTH = KUBECONFIG_SECRET_PREFIX.length + 8;

/** States in which the cluster exists on its backend, so its Kubernetes API can be reached. */
const REACHABLE_STATES = new Set(['active', 'updating', 'error']);

/** Path of the Kubernetes API proxy for a cluster (the `server` of its kubeconfigs). */
export const kubeProxyPath = (clusterId: string) => `/k8s/clusters/${clusterId}`;

/**
 * Kubeconfigs that carry nothing of Rancher: the `server` is Paddock's own Kubernetes API proxy
 * and the user is a fresh Paddock credential (`pdk_kc_…`) bound to the caller, the credential the
 * caller used, and this one cluster.
 */
@Injectable()
export class KubeconfigService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly repository: KubeAccessRepository,
    private readonly audit: AuditRepository,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * Issues a credential and returns the kubeconfig YAML that carries it. The credential and its
   * audit event (never the secret) commit together, although the request is a GET.
   */
  async issue(
    projectName: string,
    clusterName: string,
    requestedTtl: number | undefined,
    caller: Principal,
    requestId: string | null,
  ): Promise<string> {
    const ttlSeconds = requestedTtl ?? DEFAULT_KUBECONFIG_TTL_SECONDS;
    const maxTtl = this.config.kubeconfigMaxTtlSeconds;
    if (ttlSeconds > maxTtl) {
      throw badRequest('invalid request: ttlSeconds', [
        { field: 'ttlSeconds', message: `ttlSeconds must be at most ${maxTtl}` },
      ]);
    }
    const found = await this.repository.findCluster(projectName, clusterName);
    if (!found.projectExists) throw notFound('project', projectName);
    const cluster = found.cluster;
    if (!cluster) throw notFound('cluster', clusterName);
    if (!cluster.rancherId || !REACHABLE_STATES.has(cluster.state)) {
      throw conflict(
        'CLUSTER_NOT_READY',
        `cluster '${clusterName}' is ${cluster.state}; a kubeconfig is available once it is active`,
      );
    }
    const secret = `${KUBECONFIG_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
    const issuerTokenId = caller.credentialId.startsWith('token:')
      ? caller.credentialId.slice('token:'.length)
      : null;
    await this.uow.run(async () => {
      const credential = await this.repository.insertCredential({
        hash: tokenHash(secret),
        prefix: secret.slice(0, PREFIX_LENGTH),
        subject: caller.subject,
        role: caller.role,
        issuerTokenId,
        clusterId: cluster.id,
        ttlSeconds,
      });
      await this.audit.insertWithin({
        actor: caller.subject,
        role: caller.role,
        credentialId: caller.credentialId,
        project: projectName,
        action: 'getKubeconfig',
        method: 'GET',
        target: `/v1/projects/${projectName}/clusters/${clusterName}/kubeconfig`,
        status: 200,
        code: null,
        requestId,
        details: {
          clusterId: cluster.id,
          ttlSeconds,
          kubeconfigCredentialId: credential.id,
          expiresAt: credential.expiresAt.toISOString(),
        },
      });
    });
    return this.render(cluster.id, cluster.name, caller.subject, secret);
  }

  private render(clusterId: string, clusterName: string, subject: string, secret: string): string {
    const user = `${subject}@${clusterName}`;
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: clusterName, cluster: this.server(clusterId) }],
      users: [{ name: user, user: { token: secret } }],
      contexts: [{ name: clusterName, context: { cluster: clusterName, user } }],
      'current-context': clusterName,
      preferences: {},
    });
  }

  /** The proxy's URL, with the CA that signs its certificate when that is a private one. */
  private server(clusterId: string): Record<string, string> {
    const server = `${this.publicUrl()}${kubeProxyPath(clusterId)}`;
    const ca = this.config.publicCaPem;
    return ca ? { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } : { server };
  }

  /** `PADDOCK_PUBLIC_URL`, or outside production the loopback address this server listens on. */
  private publicUrl(): string {
    if (this.config.publicUrl) return this.config.publicUrl;
    const address = this.adapterHost.httpAdapter.getHttpServer().address() as AddressInfo | null;
    return `http://127.0.0.1:${address?.port ?? this.config.port}`;
  }
}
