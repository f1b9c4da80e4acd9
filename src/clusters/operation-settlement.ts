import type { OperationRecord } from '../operations/operation.types';
import type { ClusterState, NodePoolState } from './cluster.types';

export interface Amount {
  clusters: number;
  nodes: number;
}

/**
 * What a finished operation changes, decided from its type and outcome alone: the cluster's and the
 * pool's new state, what happens to the project's quota, and what the backend's capacity gets back.
 * What was reserved at request time becomes usage when the change succeeded (`confirm`) and is given
 * back when it failed (`cancel`); shrinks and deletes free their share of usage once done (`free`).
 */
export interface Settlement {
  /** The cluster's new state; null leaves it as it is. */
  cluster: ClusterState | null;
  /** Every live pool of the cluster becomes active (a create that succeeded). */
  poolsActive: boolean;
  /** The operation's own pool. */
  pool: { state: NodePoolState; quantity?: number } | null;
  quota: { action: 'confirm' | 'cancel' | 'free'; amount: Amount } | null;
  backendRelease: Amount;
}

const NOTHING: Amount = { clusters: 0, nodes: 0 };

export interface SettlementInput {
  operation: Pick<OperationRecord, 'type' | 'params'>;
  succeeded: boolean;
  /** The nodes the cluster counts right now (its live pools' quantities). */
  clusterNodes: number;
  /** The quantity of the operation's pool, or null when it has none (or it has no record). */
  poolQuantity: number | null;
}

export function settlementOf({
  operation,
  succeeded,
  clusterNodes,
  poolQuantity,
}: SettlementInput): Settlement {
  const whole = { clusters: 1, nodes: clusterNodes };
  const base = { poolsActive: false, pool: null, quota: null, backendRelease: NOTHING };
  switch (operation.type) {
    case 'create-cluster':
      return succeeded
        ? { ...base, cluster: 'active', poolsActive: true, quota: { action: 'confirm', amount: whole } }
        : { ...base, cluster: 'failed', quota: { action: 'cancel', amount: whole }, backendRelease: whole };
    case 'delete-cluster':
      // The cluster and its nodes count until the backend has deleted them.
      return { ...base, cluster: 'deleted', quota: { action: 'free', amount: whole }, backendRelease: whole };
    case 'add-node-pool': {
      if (poolQuantity === null) return { ...base, cluster: 'active' };
      const amount = { clusters: 0, nodes: poolQuantity };
      return {
        ...base,
        cluster: 'active',
        pool: { state: succeeded ? 'active' : 'failed' },
        quota: { action: succeeded ? 'confirm' : 'cancel', amount },
        backendRelease: succeeded ? NOTHING : amount,
      };
    }
    case 'scale-node-pool': {
      const delta = (operation.params.quantity ?? 0) - (operation.params.previousQuantity ?? 0);
      const growth = { clusters: 0, nodes: Math.abs(delta) };
      const quota: Settlement['quota'] =
        delta > 0
          ? { action: succeeded ? 'confirm' : 'cancel', amount: growth }
          : delta < 0 && succeeded
            ? { action: 'free', amount: growth }
            : null;
      return {
        ...base,
        cluster: 'active',
        pool:
          poolQuantity === null
            ? null
            : { state: 'active', quantity: succeeded ? undefined : operation.params.previousQuantity },
        quota,
        backendRelease: { clusters: 0, nodes: Math.max(0, succeeded ? -delta : delta) },
      };
    }
    case 'delete-node-pool': {
      if (poolQuantity === null) return { ...base, cluster: 'active' };
      const amount = { clusters: 0, nodes: poolQuantity };
      return {
        ...base,
        cluster: 'active',
        pool: { state: 'deleted' },
        quota: { action: 'free', amount },
        backendRelease: amount,
      };
    }
    // Backups change neither quota nor capacity. A failed restore leaves the cluster in `error`:
    // the backend holds it in a failed update until another restore (or a fix) succeeds.
    case 'restore-backup':
      return { ...base, cluster: succeeded ? 'active' : 'error' };
    case 'take-backup':
    case 'update-backup-schedule':
    // An addon's install or removal changes neither the cluster's state, quota nor capacity.
    case 'install-addon':
    case 'uninstall-addon':
      return { ...base, cluster: null };
    // An upgrade changes neither quota nor capacity; the cluster is at rest again either way (a
    // cancelled one keeps whatever the backend was asked for, and the sync follows the backend).
    case 'upgrade':
      return { ...base, cluster: 'active' };
    // A registered node's quota is freed by its removal's last step, when the backend no longer
    // lists it (node-registration-ledger.service.ts); own servers take no backend capacity.
    case 'remove-node':
      return { ...base, cluster: 'active' };
    // A replacement keeps the pool's quantity: nothing to count, the cluster is at rest again.
    case 'replace-node':
      return { ...base, cluster: 'active' };
    case 'set-auto-replace':
      return { ...base, cluster: null };
  }
}

/**
 * A delete that failed for good has nothing to undo: the cluster is left in `error` (its delete can
 * be asked for again), a pool that was being removed is active again. Quota and capacity stay as
 * they are, since the objects still exist.
 */
export function failureWithoutUndo(
  type: OperationRecord['type'],
  params: OperationRecord['params'] = {},
): { cluster: ClusterState | null; poolState: NodePoolState | null } | null {
  switch (type) {
    case 'delete-cluster':
      return { cluster: 'error', poolState: null };
    case 'delete-node-pool':
      return { cluster: 'active', poolState: 'active' };
    // A restore the backend was asked for and failed leaves the cluster in `error`; one that never
    // reached the backend leaves it as it was.
    case 'restore-backup':
      return {
        cluster: params.restoreRequested ? 'error' : (params.clusterStateBefore ?? 'active'),
        poolState: null,
      };
    case 'take-backup':
    case 'update-backup-schedule':
    case 'set-auto-replace':
    case 'install-addon':
    case 'uninstall-addon':
      return { cluster: null, poolState: null };
    // Refused before the backend took the version (Rancher's refusal included): nothing changed,
    // the cluster is active as before. After it: the backend holds a change that did not finish.
    case 'upgrade':
      return { cluster: params.versionWritten ? 'error' : 'active', poolState: null };
    // The node is still there (and still counted): nothing to undo.
    case 'remove-node':
    // The deleted node cannot be undeleted; the pool still makes its replacement, and the sync
    // shows how that goes.
    case 'replace-node':
      return { cluster: 'active', poolState: null };
    case 'create-cluster':
    case 'add-node-pool':
    case 'scale-node-pool':
      return null;
  }
}
