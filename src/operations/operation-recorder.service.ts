import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { conflict } from '../common/problem';
import { declarationOf } from '../clusters/cluster-operations';
import { UnitOfWork } from '../database/unit-of-work';
import { OutboxRelay } from '../outbox/outbox-relay.service';
import { OutboxRepository } from '../outbox/outbox.repository';
import { forwardSteps, PoolRef } from './operation-declaration';
import type { BackendKind } from '../rancher-backends/backend-driver';
import type { NewOperation, OperationParams, OperationType } from './operation.types';
import { OperationsRepository } from './operations.repository';

export interface OperationRequest {
  id: string;
  type: OperationType;
  projectId: string;
  clusterId: string;
  /** The pool a pool operation is about; null for cluster operations. */
  nodePoolId: string | null;
  /** The pools the steps are about: the new cluster's, or the one pool changed. */
  pools: readonly PoolRef[];
  params?: OperationParams;
  /** The kind of the cluster's backend, when the caller knows it (a create has just placed it). */
  backendKind?: BackendKind;
}

/**
 * Writes a pending operation, its declared steps and its outbox row; the relay hands it to the
 * queue once the caller's transaction has committed.
 */
@Injectable()
export class OperationRecorder {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly uow: UnitOfWork,
    private readonly operations: OperationsRepository,
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
  ) {}

  /**
   * Must run inside the caller's open transaction (with the change the operation carries out).
   * Throws 409 `OPERATION_IN_PROGRESS` when the cluster already has an operation in flight.
   */
  async recordInTransaction(request: OperationRequest): Promise<NewOperation> {
    // The steps depend on the kind of the cluster's backend (see cluster-operations.ts).
    const kind = request.backendKind ?? (await this.operations.backendKindOf(request.clusterId));
    const operation: NewOperation = {
      id: request.id,
      projectId: request.projectId,
      clusterId: request.clusterId,
      nodePoolId: request.nodePoolId,
      type: request.type,
      params: request.params ?? {},
      deadlineAt: new Date(Date.now() + this.config.operationDeadlineMs),
      steps: forwardSteps(declarationOf(kind, request.type), request.pools),
    };
    if (!(await this.operations.insert(operation))) {
      throw conflict(
        'OPERATION_IN_PROGRESS',
        'another operation is changing this cluster; wait for it to finish',
        {
          clusterId: request.clusterId,
        },
      );
    }
    await this.outbox.addInTransaction(operation.id);
    this.uow.afterCommit(() => this.relay.kick());
    return operation;
  }
}
