import type { OperationDeclaration } from '../operations/operation-declaration';
import { ApplyAddonStep } from './steps/apply-addon.step';
import { AwaitAddonRemovedStep } from './steps/await-addon-removed.step';
import { AwaitAddonStep } from './steps/await-addon.step';
import { LabelAddonStep } from './steps/label-addon.step';
import { UnlabelAddonStep } from './steps/unlabel-addon.step';

/**
 * An owner's opt-in and opt-out of an optional addon, the same on both kinds (Fleet is reached
 * the same way). Neither has anything to undo: an opt-in that failed leaves the opt-in recorded
 * (the owner opts out to take it back), so the cluster and Postgres keep agreeing.
 * Catalog changes are no operation: each backend's status sync writes the addon's Fleet object
 * whenever it is behind Postgres (see addon-sync.service.ts).
 */
export const ADDON_OPERATIONS = {
  // The label first: the Fleet object's per-cluster values target also asks for it.
  'install-addon': {
    forward: [LabelAddonStep, ApplyAddonStep, AwaitAddonStep],
    compensation: [],
    deadline: true,
    cancel: 'stop',
  },
  // The values target goes before the label, so the cluster never runs on defaults on the way out.
  'uninstall-addon': {
    forward: [ApplyAddonStep, UnlabelAddonStep, AwaitAddonRemovedStep],
    compensation: [],
    deadline: true,
    cancel: 'stop',
  },
} as const satisfies Record<string, OperationDeclaration>;
