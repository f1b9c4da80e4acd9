import { HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { DEFAULT_PAGE_SIZE, decodeCursor, PageQuery, toPage } from '../common/cursor';
import { badRequest, conflict, notFound, ProblemError } from '../common/problem';
import { UnitOfWork } from '../database/unit-of-work';
import { ClusterLookup } from '../clusters/cluster-lookup.service';
import type { ClusterRecord } from '../clusters/cluster.types';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import type { BackendDriver } from '../rancher-backends/backend-driver';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { QuotaService } from '../quota/quota.service';
import { workerJoinCommand } from './join-command';
import { checkNodeLabels, checkNodeTaints } from './node-labels';
import {
  CreatedNodeRegistrationDto,
  CreateNodeRegistrationDto,
  NodeRegistrationDto,
  NodeRegistrationListDto,
} from './node-registration.dto';
import { NodeRegistrationLedger } from './node-registration-ledger.service';
import type { NodeRegistrationRecord, NodeTaint } from './node-registration.types';
import { NodeRegistrationsRepository } from './node-registrations.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const toRegistrationDto = (r: NodeRegistrationRecord, cluster: string): NodeRegistrationDto => ({
  id: r.id,
  cluster,
  count: r.count,
  joined: r.joined,
  released: r.released,
  labels: r.labels,
  taints: r.taints,
  state: r.closeReason ?? 'open',
  expiresAt: r.expiresAt.toISOString(),
  createdAt: r.createdAt.toISOString(),
  closedAt: r.closedAt?.toISOString() ?? null,
});

/** The backend's token name for a registration: found again by it after a lost answer. */
export const tokenNameOf = (registrationId: string) => `paddock-${registrationId}`;

/**
 * Node registrations: a worker-only join command for a team's own servers, with `count` nodes of
 * the project's quota held for them until they join (then counted as used), the registration is
 * revoked, or it expires.
 *
 * The command carries a cluster registration token made for this registration alone. It is a
 * credential, treated as one: it is in the 201 answer and nowhere else (not stored, not logged,
 * not audited, not in any job; `GET` lists registrations without it), and it is no Rancher API
 * token (Rancher only takes it to register an agent). Revoking or expiring the registration
 * deletes the token on the backend, so a command that leaked stops working.
 */
@Injectable()
export class NodeRegistrationsService {
  private readonly logger = new Logger(NodeRegistrationsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly lookup: ClusterLookup,
    private readonly registrations: NodeRegistrationsRepository,
    private readonly ledger: NodeRegistrationLedger,
    private readonly quota: QuotaService,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  async create(
    projectName: string,
    clusterName: string,
    body: CreateNodeRegistrationDto,
  ): Promise<CreatedNodeRegistrationDto> {
    const taints: NodeTaint[] = (body.taints ?? []).map((t) => ({
      key: t.key,
      value: t.value ?? '',
      effect: t.effect,
    }));
    const problems = [...checkNodeLabels(body.labels), ...checkNodeTaints(taints)];
    if (problems.length > 0)
      throw badRequest(`invalid request: ${problems.map((p) => p.field).join(', ')}`, problems);
    const project = await this.lookup.requireProject(projectName);
    const id = randomUUID();
    const ttl = body.ttlSeconds ?? this.config.nodeRegistrationTtlSeconds;
    const cluster = await this.uow.run(async () => {
      const found = await this.lookup.requireLiveCluster(project, clusterName);
      requireActive(found);
      // Quota first, in the transaction that records the registration: two registrations racing
      // for the last nodes serialise on the project's quota row, and one of them gets the 409.
      await this.quota.reserve(project.id, { clusters: 0, nodes: body.count });
      await this.registrations.insert({
        id,
        projectId: project.id,
        clusterId: found.id,
        count: body.count,
        labels: body.labels ?? {},
        taints,
        expiresAt: new Date(Date.now() + ttl * 1000),
        createdBy: null,
      });
      return found;
    });
    const driver = await this.driverOf(cluster);
    let nodeCommand: string;
    try {
      const token = await driver.ensureRegistrationToken(cluster.rancherId!, tokenNameOf(id));
      await this.registrations.setTokenRef(id, token.id);
      nodeCommand = token.nodeCommand;
    } catch (error) {
      // Nothing was handed out: the registration closes and its reservation goes back.
      await this.uow.run(() => this.ledger.close(id, 'revoked'));
      if (!isBackendError(error)) throw error;
      throw new ProblemError(
        HttpStatus.SERVICE_UNAVAILABLE,
        'BACKEND_UNAVAILABLE',
        `the cluster's backend did not give a registration token (${error.kind}); nothing was reserved, try again`,
      );
    }
    const record = await this.registrations.find(cluster.id, id);
    if (!record) throw notFound('node registration', id);
    const command = workerJoinCommand(nodeCommand, { id, labels: record.labels, taints: record.taints });
    this.logger.log({ registration: id, cluster: cluster.id, count: body.count }, 'node registration made');
    return { ...toRegistrationDto(record, cluster.name), command };
  }

  async list(projectName: string, clusterName: string, query: PageQuery): Promise<NodeRegistrationListDto> {
    const cluster = await this.lookup.requireCluster(
      await this.lookup.requireProject(projectName),
      clusterName,
    );
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const after = decodeCursor(query.cursor);
    if (after && (!UUID.test(after.id) || Number.isNaN(Date.parse(after.key)))) {
      throw badRequest('cursor is not valid', [
        { field: 'cursor', message: 'cursor is not a cursor this API issued' },
      ]);
    }
    const rows = await this.registrations.list(
      cluster.id,
      limit,
      after ? { createdAt: after.key, id: after.id } : null,
    );
    const page = toPage(rows, limit, (r) => ({ key: r.createdAt.toISOString(), id: r.id }));
    return { items: page.items.map((r) => toRegistrationDto(r, cluster.name)), nextCursor: page.nextCursor };
  }

  /**
   * Revokes a registration: what it still reserves goes back to the quota at once, its token is
   * deleted on the backend (by the expiry pass if the backend cannot be reached now). Servers that
   * joined stay, and stay counted, until they are removed.
   */
  async revoke(projectName: string, clusterName: string, id: string): Promise<NodeRegistrationDto> {
    const cluster = await this.lookup.requireCluster(
      await this.lookup.requireProject(projectName),
      clusterName,
    );
    if (!UUID.test(id)) throw notFound('node registration', id);
    const record = await this.uow.run(async () => {
      const found = await this.registrations.find(cluster.id, id, true);
      if (!found) throw notFound('node registration', id);
      if (found.closedAt) {
        throw conflict('REGISTRATION_CLOSED', `node registration '${id}' is ${found.closeReason} already`);
      }
      await this.ledger.close(id, 'revoked');
      return found;
    });
    if (record.tokenRef) await this.removeToken(cluster, id, record.tokenRef);
    const after = await this.registrations.find(cluster.id, id);
    return toRegistrationDto(after ?? record, cluster.name);
  }

  private async removeToken(cluster: ClusterRecord, id: string, tokenRef: string): Promise<void> {
    try {
      await (await this.driverOf(cluster)).deleteRegistrationToken(tokenRef);
      await this.registrations.markTokenRemoved([id]);
    } catch (error) {
      if (!isBackendError(error)) throw error;
      this.logger.warn(
        { registration: id, kind: error.kind },
        'the registration token will be removed later',
      );
    }
  }

  private async driverOf(cluster: ClusterRecord): Promise<BackendDriver> {
    const backend = await this.backends.findById(cluster.backendId);
    if (!backend) throw notFound('backend of cluster', cluster.name);
    return this.drivers.forBackend(backend);
  }
}

/** Servers join a running cluster only: one still being made (or changed) has no agent to join. */
export function requireActive(cluster: ClusterRecord): void {
  if (cluster.state !== 'active' || !cluster.rancherId) {
    throw conflict('CLUSTER_NOT_ACTIVE', `cluster '${cluster.name}' is ${cluster.state}; it must be active`, {
      state: cluster.state,
    });
  }
}
