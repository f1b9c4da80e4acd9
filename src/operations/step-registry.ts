import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { CLUSTER_OPERATIONS, CLUSTER_STEP_HANDLERS } from '../clusters/cluster-operations';
import type { OperationDeclaration } from './operation-declaration';
import type { OperationType } from './operation.types';
import type { OperationStep } from './operation-step';

/**
 * Step handlers by key, and the declaration of each operation type. Built once at start from the
 * declarations; two handlers with one key stop the worker from starting rather than run the wrong one.
 */
@Injectable()
export class StepRegistry implements OnModuleInit {
  private readonly handlers = new Map<string, OperationStep>();

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    for (const handler of CLUSTER_STEP_HANDLERS) {
      if (this.handlers.has(handler.key)) throw new Error(`two step handlers share the key '${handler.key}'`);
      this.handlers.set(handler.key, this.moduleRef.get(handler, { strict: false }));
    }
  }

  /** The handler of a persisted step; undefined for a key this release does not know. */
  handler(key: string): OperationStep | undefined {
    return this.handlers.get(key);
  }

  declaration(type: OperationType): OperationDeclaration {
    return CLUSTER_OPERATIONS[type];
  }
}
