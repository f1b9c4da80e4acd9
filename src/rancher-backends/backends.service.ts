import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { decodeCursor, DEFAULT_PAGE_SIZE, PageQuery, toPage } from '../common/cursor';
import { badRequest, conflict, FieldProblem, notFound, ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { isBackendError } from './backend.errors';
import { BackendDto, BackendListDto, FlavorDto, RegisterBackendDto, UpdateBackendDto } from './backend.dto';
import { BackendCallStats, CallStats } from './backend-call-stats.service';
import { BackendDriversService } from './backend-drivers.service';
import { BackendsRepository } from './backends.repository';
import type { Backend } from './backend.types';
import type { BackendDriver } from './backend-driver';
import { plainVersions } from './kubernetes-versions';
import { rancherMinor } from './rancher-version';
import { validateMaps } from './backend-validation';

/** Whether a server of this version still has RKE1 (removed in 2.12, rancher-212.md §1). */
export function servesRke1(version: string): boolean {
  const minor = rancherMinor(version);
  // An unreadable version (a development build says `dev`) is given the benefit of the doubt.
  return minor === null || minor[0] < 2 || (minor[0] === 2 && minor[1] < 12);
}

export const toBackendDto = (b: Backend, calls: CallStats): BackendDto => ({
  id: b.id,
  name: b.name,
  url: b.url,
  kind: b.kind,
  cloudCredential: b.cloudCredential,
  kubernetesVersions: plainVersions(b.kubernetesVersions),
  region: b.region,
  labels: b.labels,
  capacity: { maxClusters: b.maxClusters, maxNodes: b.maxNodes },
  state: b.state,
  flavors: b.flavors,
  clusters: b.clusters,
  nodes: b.nodes,
  rancherVersion: b.rancherVersion,
  lastSyncAt: b.lastSyncAt?.toISOString() ?? null,
  lastSyncError: b.lastSyncError,
  syncReport: b.syncReport,
  health: {
    state: b.health,
    consecutiveFailures: b.probeFailures,
    checkedAt: b.healthCheckedAt?.toISOString() ?? null,
    lastHealthyAt: b.lastHealthyAt?.toISOString() ?? null,
    lastError: b.lastProbeError,
  },
  calls,
  createdAt: b.createdAt.toISOString(),
  updatedAt: b.updatedAt.toISOString(),
});

const normalizeUrl = (url: string) => url.replace(/\/+$/, '').replace(/\/v3$/, '');

@Injectable()
export class BackendsService {
  private readonly logger = new Logger(BackendsService.name);

  constructor(
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
    private readonly uow: UnitOfWork,
    private readonly stats: BackendCallStats,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private async toDto(backend: Backend): Promise<BackendDto> {
    return toBackendDto(backend, await this.stats.read(backend.name));
  }

  /** Outside development and test a backend must be reached over TLS: its token travels on every call. */
  private checkUrl(url: string): void {
    if (this.config.env === 'production' && !url.startsWith('https://')) {
      throw badRequest('invalid request: url', [
        { field: 'url', message: 'url must use https outside development and test' },
      ]);
    }
  }

  /** Verifies the backend answers, accepts the token and has every flavor's template, then saves it. */
  async register(body: RegisterBackendDto): Promise<BackendDto> {
    validateMaps(body.kind, body.flavors, body.labels, body.cloudCredential);
    if (body.kind === 'rke2' && body.cloudCredential === undefined) {
      throw badRequest('invalid request: cloudCredential', [
        {
          field: 'cloudCredential',
          message: 'an rke2 backend needs the cloud credential its clusters are made with',
        },
      ]);
    }
    this.checkUrl(body.url);
    const url = normalizeUrl(body.url);
    const probe = await this.verify(
      body.name,
      body.kind,
      url,
      body.token,
      body.flavors,
      body.cloudCredential,
    );
    const saved = await this.backends.insert({
      name: body.name,
      url,
      kind: body.kind,
      tokenCiphertext: this.drivers.tokenCipher.seal(body.token),
      region: body.region ?? null,
      labels: body.labels ?? {},
      maxClusters: body.capacity.maxClusters,
      maxNodes: body.capacity.maxNodes,
      state: body.state ?? 'active',
      flavors: body.flavors,
      cloudCredential: body.cloudCredential ?? null,
      rancherVersion: probe.version,
      kubernetesVersions: probe.kubernetesVersions,
    });
    if (!saved) throw conflict('BACKEND_EXISTS', `backend '${body.name}' already exists`);
    return this.toDto(saved);
  }

  async list(query: PageQuery): Promise<BackendListDto> {
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    const rows = await this.backends.list(limit, after?.key ?? null);
    const page = toPage(rows, limit, (b) => ({ key: b.name, id: b.id }));
    return { items: await Promise.all(page.items.map((b) => this.toDto(b))), nextCursor: page.nextCursor };
  }

  async get(name: string): Promise<BackendDto> {
    return this.toDto(await this.require(name));
  }

  /** Re-verifies whatever changed that verification covers (URL, token, flavors) before saving. */
  async update(name: string, body: UpdateBackendDto): Promise<BackendDto> {
    if (body.url !== undefined) this.checkUrl(body.url);
    const current = await this.require(name);
    validateMaps(current.kind, body.flavors, body.labels, body.cloudCredential);
    const url = body.url === undefined ? current.url : normalizeUrl(body.url);
    let probe: { version: string; kubernetesVersions: string[] } | undefined;
    if (
      body.url !== undefined ||
      body.token !== undefined ||
      body.flavors !== undefined ||
      body.cloudCredential !== undefined
    ) {
      const token = body.token ?? this.openStoredToken(current);
      probe = await this.verify(
        current.name,
        current.kind,
        url,
        token,
        body.flavors ?? current.flavors,
        body.cloudCredential ?? current.cloudCredential ?? undefined,
      );
    }
    await this.backends.update(current.id, {
      url: body.url === undefined ? undefined : url,
      tokenCiphertext: body.token === undefined ? undefined : this.drivers.tokenCipher.seal(body.token),
      region: body.region,
      labels: body.labels,
      maxClusters: body.capacity?.maxClusters,
      maxNodes: body.capacity?.maxNodes,
      state: body.state,
      flavors: body.flavors,
      cloudCredential: body.cloudCredential,
      rancherVersion: probe?.version,
      kubernetesVersions: probe?.kubernetesVersions,
    });
    return this.toDto(await this.require(name));
  }

  async remove(name: string): Promise<void> {
    const backend = await this.require(name);
    const outcome = await this.uow.run(() => this.backends.deleteIfUnused(backend.id));
    if (outcome === 'in-use') {
      throw conflict(
        'BACKEND_IN_USE',
        `backend '${name}' still has live clusters; drain it and delete them first`,
      );
    }
  }

  /** Re-seals tokens sealed under a previous encryption key; returns how many changed. */
  async resealTokens(): Promise<number> {
    const cipher = this.drivers.tokenCipher;
    let count = 0;
    for (const backend of await this.backends.listSealedTokens()) {
      if (!cipher.isStale(backend.tokenCiphertext)) continue;
      let token: string;
      try {
        token = cipher.open(backend.tokenCiphertext);
      } catch (error) {
        // Sealed under a key that is gone: the backend's probes already report it, and only a new
        // token (PATCH) can help. The other backends are still re-sealed.
        this.logger.warn(
          { backendId: backend.id, reason: (error as Error).message },
          'a backend token cannot be re-sealed',
        );
        continue;
      }
      if (await this.backends.replaceSealedToken(backend.id, backend.tokenCiphertext, cipher.seal(token)))
        count += 1;
    }
    return count;
  }

  /** The stored token, or a 422 asking for a new one when it was sealed under a key that is gone. */
  private openStoredToken(backend: Backend): string {
    try {
      return this.drivers.tokenCipher.open(backend.tokenCiphertext);
    } catch {
      throw new ProblemError(
        HttpStatus.UNPROCESSABLE_ENTITY,
        'BACKEND_TOKEN_UNREADABLE',
        `the stored token of backend '${backend.name}' was sealed under an encryption key Paddock no longer has; send a new token with this change`,
      );
    }
  }

  async require(name: string): Promise<Backend> {
    const backend = await this.backends.findByName(name);
    if (!backend) throw notFound('backend', name);
    return backend;
  }

  /**
   * Ping, version, token, then each flavor's template: the node template exists (rke1), or the
   * machine-config schema of its kind answers (rke2). A backend whose version does not serve its
   * kind is refused: RKE1 is gone from Rancher 2.12, which still accepts an RKE1 create with 201
   * and never provisions it (rancher-212.md §1.2), so Paddock must not send one there.
   */
  private async verify(
    name: string,
    kind: Backend['kind'],
    url: string,
    token: string,
    flavors: Record<string, FlavorDto>,
    cloudCredential?: string,
  ): Promise<{ version: string; kubernetesVersions: string[] }> {
    const driver = this.drivers.build(name, kind, url, token, { flavors, cloudCredential });
    try {
      const probe = await driver.probe();
      if (kind === 'rke1' && !servesRke1(probe.version)) {
        throw new ProblemError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'BACKEND_KIND_UNSUPPORTED',
          `Rancher ${probe.version} has no RKE1 (removed in 2.12): register this backend with "kind": "rke2"`,
          { rancherVersion: probe.version },
          [
            {
              field: 'kind',
              message: `Rancher ${probe.version} provisions only RKE2/K3s: use "kind": "rke2"`,
            },
          ],
        );
      }
      const missing: FieldProblem[] = [];
      for (const [flavor, template] of Object.entries(flavors)) {
        const ref = template.nodeTemplateId ?? flavor;
        if (!(await driver.findNodeTemplate(ref))) {
          missing.push(
            kind === 'rke1'
              ? {
                  field: `flavors.${flavor}.nodeTemplateId`,
                  message: `node template ${ref} does not exist on the backend`,
                }
              : {
                  field: `flavors.${flavor}.machineConfig.kind`,
                  message: `the backend has no machine-config type ${template.machineConfig?.kind ?? ''} (is its node driver active?)`,
                },
          );
        }
      }
      if (missing.length > 0) {
        throw new ProblemError(
          HttpStatus.UNPROCESSABLE_ENTITY,
          'BACKEND_VERIFICATION_FAILED',
          kind === 'rke1'
            ? 'the backend lacks node templates named by flavors'
            : 'the backend lacks machine-config types named by flavors',
          {},
          missing,
        );
      }
      if (kind === 'rke2' && cloudCredential !== undefined) {
        const problems = await credentialProblems(driver, cloudCredential, flavors);
        if (problems.length > 0) {
          throw new ProblemError(
            HttpStatus.UNPROCESSABLE_ENTITY,
            'BACKEND_VERIFICATION_FAILED',
            problems.map((p) => p.message).join('; '),
            {},
            problems,
          );
        }
      }
      return { version: probe.version, kubernetesVersions: probe.kubernetesVersions };
    } catch (error) {
      if (!isBackendError(error)) throw error;
      const reason =
        error.kind === 'unauthorized'
          ? 'the backend refused the token'
          : error.kind === 'timeout' || error.kind === 'network'
            ? 'the backend is not reachable'
            : `the backend answered unexpectedly (${error.kind})`;
      throw new ProblemError(HttpStatus.UNPROCESSABLE_ENTITY, 'BACKEND_VERIFICATION_FAILED', reason, {
        reason: error.kind,
      });
    } finally {
      driver.close();
    }
  }
}

/**
 * Why an rke2 backend's machines could not be made with `cloudCredential`: Rancher only finds out
 * when a machine is provisioned (the cluster then sits in `provisioning` with a credential error on
 * its machines), so registration checks that the credential exists and holds a block for the
 * machine driver of every flavor (`OpenstackConfig` needs an `openstackcredentialConfig`).
 */
async function credentialProblems(
  driver: BackendDriver,
  cloudCredential: string,
  flavors: Record<string, FlavorDto>,
): Promise<FieldProblem[]> {
  const credential = await driver.findCloudCredential(cloudCredential);
  if (!credential) {
    return [
      {
        field: 'cloudCredential',
        message: `cloud credential ${cloudCredential} does not exist on the backend (or the token may not read it)`,
      },
    ];
  }
  const problems: FieldProblem[] = [];
  for (const [flavor, template] of Object.entries(flavors)) {
    const machineDriver = machineDriverOf(template.machineConfig?.kind ?? '');
    if (!machineDriver || credential.drivers.includes(machineDriver)) continue;
    problems.push({
      field: 'cloudCredential',
      message: `cloud credential ${cloudCredential} holds no ${machineDriver} credentials (it serves ${credential.drivers.join(', ') || 'no machine driver'}), which flavor ${flavor} needs`,
    });
  }
  return problems;
}

/** `OpenstackConfig` → `openstack`: the node driver behind a machine-config kind. */
const machineDriverOf = (kind: string) => kind.replace(/Config$/, '').toLowerCase();
