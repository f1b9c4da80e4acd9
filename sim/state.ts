/**
 * The `state` / `transitioning` / `transitioningMessage` summary Rancher computes from conditions
 * (rancher-api.md §2.1, wrangler `pkg/summary`). Pure, so it can be unit-tested on its own.
 */

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  message?: string;
  reason?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export type Transitioning = 'yes' | 'no' | 'error';

export interface Summary {
  state: string;
  transitioning: Transitioning;
  transitioningMessage: string;
}

/** Condition types whose Unknown means "in progress" and False means "stuck in that phase". */
const UNKNOWN_MEANS_TRANSITIONING: Readonly<Record<string, string>> = {
  Pending: 'pending',
  Provisioned: 'provisioning',
  Waiting: 'waiting',
  Updated: 'updating',
  Upgraded: 'upgrading',
  Removed: 'removing',
  Initialized: 'initializing',
  Registered: 'registering',
  Saved: 'saving',
  Drained: 'draining',
  Created: 'creating',
  AgentDeployed: 'provisioning',
  AddonDeploy: 'provisioning',
  CertsGenerated: 'provisioning',
  etcd: 'provisioning',
  DefaultProjectCreated: 'configuring',
  BackingNamespaceCreated: 'configuring',
  CreatorMadeOwner: 'configuring',
  Active: 'activating',
};

/** Condition types whose False means "in progress" and Unknown means "broken". */
const FALSE_MEANS_TRANSITIONING: Readonly<Record<string, string>> = {
  Completed: 'activating',
  Ready: 'unavailable',
};

export function summarize(conditions: readonly Condition[], removing = false): Summary {
  if (removing) {
    // A deletion timestamp wins over every condition (§2.1).
    return { state: 'removing', transitioning: 'yes', transitioningMessage: '' };
  }
  let state = '';
  let error = false;
  let transitioning = false;
  const messages: string[] = [];
  const note = (message: string | undefined) => {
    if (message) messages.push(message);
  };

  for (const condition of conditions) {
    const phase = UNKNOWN_MEANS_TRANSITIONING[condition.type];
    if (phase === undefined) continue;
    if (condition.status === 'False') {
      // Every False overrides the state, so the last one wins.
      error = true;
      state = phase;
      note(condition.message);
    } else if (condition.status === 'Unknown' && state === '') {
      transitioning = true;
      state = phase;
      note(condition.message);
    }
  }
  for (const condition of conditions) {
    if (state !== '') break;
    const phase = FALSE_MEANS_TRANSITIONING[condition.type];
    if (phase === undefined) continue;
    if (condition.status === 'False') {
      transitioning = true;
      state = phase;
      note(condition.message);
    } else if (condition.status === 'Unknown') {
      error = true;
      state = phase;
      note(condition.message);
    }
  }

  return {
    state: state || 'active',
    transitioning: error ? 'error' : transitioning ? 'yes' : 'no',
    transitioningMessage: messages.join('; '),
  };
}

/** Sets (or adds) a condition the way a controller does: transition time moves only on change. */
export function setCondition(
  conditions: Condition[],
  type: string,
  status: ConditionStatus,
  message = '',
  reason = '',
): void {
  const now = new Date().toISOString();
  let condition = conditions.find((c) => c.type === type);
  if (!condition) {
    condition = { type, status, lastUpdateTime: now, lastTransitionTime: now };
    conditions.push(condition);
  } else {
    if (condition.status !== status) condition.lastTransitionTime = now;
    condition.status = status;
    condition.lastUpdateTime = now;
  }
  // k8s condition fields are `omitempty`: an empty message or reason is absent, not "".
  if (message) condition.message = message;
  else delete condition.message;
  if (reason) condition.reason = reason;
  else delete condition.reason;
}

export function conditionStatus(conditions: readonly Condition[], type: string): ConditionStatus | undefined {
  return conditions.find((c) => c.type === type)?.status;
}

export function isTrue(conditions: readonly Condition[], type: string): boolean {
  return conditionStatus(conditions, type) === 'True';
}
