import { Injectable, Logger } from '@nestjs/common';
import { UnitOfWork } from '../database/unit-of-work';
import { isBackendError } from '../rancher-backends/backend.errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { BackendsRepository } from '../rancher-backends/backends.repository';
import { NodeRegistrationLedger } from './node-registration-ledger.service';
import { NodeRegistrationsRepository } from './node-registrations.repository';

/** How many registrations one pass closes, and how many tokens it removes; the next pass takes the rest. */
const BATCH = 100;

/**
 * Run with the expiry of clusters (same job scheduler, so one worker per period): closes the
 * registrations whose time is up, giving back what they still reserve, then deletes on the
 * backends the tokens of closed registrations (expired ones, and revoked ones whose backend could
 * not be reached at the time). Each close is its own transaction with the row locked and looked at
 * again, so two workers, or a revoke at the same moment, close it once.
 */
@Injectable()
export class NodeRegistrationExpiry {
  private readonly logger = new Logger(NodeRegistrationExpiry.name);

  constructor(
    private readonly uow: UnitOfWork,
    private readonly registrations: NodeRegistrationsRepository,
    private readonly ledger: NodeRegistrationLedger,
    private readonly backends: BackendsRepository,
    private readonly drivers: BackendDriversService,
  ) {}

  /** One pass; answers how many registrations it closed. */
  async pass(): Promise<number> {
    let closed = 0;
    for (const id of await this.registrations.dueIds(BATCH)) {
      const expired = await this.uow.run(async () => {
        if (!(await this.registrations.lockDue(id))) return false;
        return this.ledger.close(id, 'expired');
      });
      if (expired) closed += 1;
    }
    if (closed > 0) this.logger.log(`closed ${closed} expired node registration(s)`);
    await this.removeTokens();
    return closed;
  }

  private async removeTokens(): Promise<void> {
    const removed: string[] = [];
    for (const { id, tokenRef, backendId } of await this.registrations.tokensToRemove(BATCH)) {
      const backend = await this.backends.findById(backendId);
      try {
        if (backend) await this.drivers.forBackend(backend).deleteRegistrationToken(tokenRef);
        removed.push(id);
      } catch (error) {
        if (!isBackendError(error)) throw error;
        this.logger.warn(
          { registration: id, kind: error.kind },
          'could not remove a registration token; will retry',
        );
      }
    }
    await this.registrations.markTokenRemoved(removed);
  }
}
