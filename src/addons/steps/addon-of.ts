import type { StepContext } from '../../operations/operation-step';
import { StepError } from '../../operations/operation-step';
import type { AddonRecord } from '../addon.types';
import type { AddonsRepository } from '../addons.repository';

/** The operation's addon, read fresh; an addon deleted meanwhile ends the operation. */
export async function addonOf(addons: AddonsRepository, { operation }: StepContext): Promise<AddonRecord> {
  const addon = operation.params.addonId ? await addons.findById(operation.params.addonId) : null;
  if (!addon || addon.deleting)
    throw new StepError('ADDON_DELETED', `addon ${operation.params.addonName ?? ''} was deleted`, false);
  return addon;
}

/** The backend's id of the operation's cluster; a step on a cluster the backend never made cannot succeed. */
export function rancherIdOf({ cluster }: StepContext): string {
  if (!cluster.rancherId)
    throw new StepError('CLUSTER_NOT_CREATED', 'the cluster does not exist on the backend', false);
  return cluster.rancherId;
}
