import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { BOOTSTRAP_ADMIN, Principal, tokenHash } from '../common/auth.guard';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import {
  ApiTokenGrant,
  ClusterTarget,
  KubeAccessRepository,
  KubeconfigGrant,
} from './kube-access.repository';
import { clusterNotFound, unauthenticated } from './kube-status';

/** The prefix of kubeconfig credentials; other `pdk_` secrets are API tokens. */
export const KUBECONFIG_SECRET_PREFIX = 'pdk_kc_';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PADDOCK_SECRET = /^pdk_[A-Za-z0-9_-]{20,100}$/;

/** Clusters that no longer exist anywhere: deleted, or never made because their create failed. */
const GONE = new Set(['deleted', 'failed']);

/** Who is calling the Kubernetes API of which cluster. */
export interface KubeCaller {
  principal: Principal;
  target: ClusterTarget;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Authenticates and authorizes a request to `/k8s/clusters/{clusterId}/…` with the same rules as
 * `/v1`: any Paddock token that may see the cluster's project (admin, member, ci), or a kubeconfig
 * credential for that very cluster. 401 when the credential does not work (missing, unknown,
 * expired, revoked, its issuer revoked, its subject no longer a member, its cluster gone); 404 when
 * it works but the cluster is not one the caller may see, exactly as for a cluster that does not
 * exist. One indexed query per request, no cache.
 */
@Injectable()
export class KubeAuthenticator {
  private readonly adminDigest: Buffer;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly repository: KubeAccessRepository,
  ) {
    this.adminDigest = digest(config.adminToken);
  }

  async authenticate(authorization: string | undefined, clusterId: string): Promise<KubeCaller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw unauthenticated('a bearer token is required');
    const secret = match[1];
    if (timingSafeEqual(digest(secret), this.adminDigest)) {
      const target = UUID.test(clusterId) ? await this.repository.findTarget(clusterId) : null;
      if (!target || GONE.has(target.state)) throw clusterNotFound(clusterId);
      return { principal: BOOTSTRAP_ADMIN, target };
    }
    if (!PADDOCK_SECRET.test(secret)) throw unauthenticated('the token is not valid');
    if (secret.startsWith(KUBECONFIG_SECRET_PREFIX)) {
      const grant = await this.repository.findKubeconfigGrant(tokenHash(secret));
      return this.kubeconfigCaller(grant, clusterId);
    }
    // A path that is not a cluster id still authenticates the token first (401 before 404).
    const grant = await this.repository.findApiTokenGrant(
      tokenHash(secret),
      UUID.test(clusterId) ? clusterId : '00000000-0000-0000-0000-000000000000',
    );
    return this.apiTokenCaller(grant, clusterId);
  }

  private kubeconfigCaller(grant: KubeconfigGrant | null, clusterId: string): KubeCaller {
    if (!grant) throw unauthenticated('the token is not valid');
    if (grant.revoked) throw unauthenticated('the kubeconfig credential has been revoked');
    if (grant.expired) throw unauthenticated('the kubeconfig credential has expired');
    if (!grant.issuerValid)
      throw unauthenticated('the token this kubeconfig was issued with is no longer valid');
    if (!grant.subjectAllowed)
      throw unauthenticated(`'${grant.subject}' is no longer a member of the cluster's project`);
    if (GONE.has(grant.target.state)) throw unauthenticated("the kubeconfig's cluster has been deleted");
    // A working credential used on another cluster's path learns nothing about that cluster.
    if (grant.target.clusterId !== clusterId.toLowerCase()) throw clusterNotFound(clusterId);
    return {
      principal: {
        subject: grant.subject,
        role: grant.role,
        credentialId: `kubeconfig:${grant.credentialId}`,
        projectId: grant.target.projectId,
        projectName: grant.target.projectName,
      },
      target: grant.target,
    };
  }

  private apiTokenCaller(grant: ApiTokenGrant | null, clusterId: string): KubeCaller {
    if (!grant) throw unauthenticated('the token is not valid');
    if (grant.revoked) throw unauthenticated('the token has been revoked');
    if (grant.expired) throw unauthenticated('the token has expired');
    const target = grant.target;
    if (!target || GONE.has(target.state)) throw clusterNotFound(clusterId);
    const visible =
      grant.role === 'admin' ||
      (grant.role === 'ci' && grant.tokenProjectId === target.projectId) ||
      (grant.role === 'member' &&
        grant.memberOfClusterProject &&
        (grant.tokenProjectId === null || grant.tokenProjectId === target.projectId));
    if (!visible) throw clusterNotFound(clusterId);
    return {
      principal: {
        subject: grant.subject,
        role: grant.role,
        credentialId: `token:${grant.tokenId}`,
        projectId: grant.tokenProjectId,
        projectName: grant.tokenProjectName,
      },
      target,
    };
  }
}
