/**
 * Every delay the simulator uses, in milliseconds. A real RKE1 cluster takes minutes; tests want
 * about a second, demos want something watchable, so each step is configurable on its own.
 */
export interface SimulatorTimings {
  /** After `POST /v3/clusters`, how long `POST /v3/nodepools` for it answers 403 (§11.9). */
  permissionWindowMs: number;
  /** Pool controller reaction time: creating/removing nodes after a pool change (§4.2). */
  poolReconcileMs: number;
  /** Node `provisioning` (machine being created) before it turns `registering` (§4.3). */
  nodeProvisionMs: number;
  /** Node `registering` before it turns `active`. */
  nodeRegisterMs: number;
  /** A node whose `Provisioned` is False this long after creation is deleted and replaced (§4.2). */
  nodeFailedReplaceMs: number;
  /** Node `removing` before it disappears. */
  nodeDeleteMs: number;
  /** Node `draining` before it turns `drained`. */
  nodeDrainMs: number;
  /** Roles covered by active nodes → `Provisioned=True` (the RKE run, §3.3 step 3). */
  clusterProvisionMs: number;
  /** `waiting` → agent connected, `Ready=True` → `active` (§3.3 step 4). */
  clusterConnectMs: number;
  /** `updating` after an RKE config change, restore or certificate rotation (§3.3 step 5). */
  clusterUpdateMs: number;
  /** Cluster `removing` before it and everything in its namespace disappear (§3.5). */
  clusterDeleteMs: number;
  /** Registration token created → command fields filled by the controller (§5). */
  tokenFillMs: number;
  /** Etcd backup `activating` → `active` (§6). */
  etcdBackupMs: number;
  /** One hour of a backup schedule: recurring backups come every `intervalHours` of these (§6). */
  backupHourMs: number;
  /** `removing` → gone for pools, templates, tokens and backups. */
  objectDeleteMs: number;
  /** How often the Fleet controllers reconcile (registration, bundles, rollout) while there is Fleet work. */
  fleetReconcileMs: number;
  /** A bundle deployment's agent applying a new deployment ID (`WaitApplied` → applied). */
  fleetApplyMs: number;
  /** Applied resources becoming ready (`NotReady` → `Ready`). */
  fleetReadyMs: number;
  /** A bundle deployment whose target went away: the agent's uninstall before it disappears. */
  fleetUninstallMs: number;
  /**
   * Not a delay but a bound: the longest a Kubernetes watch (also one without `timeoutSeconds`)
   * or an exec session stays open, like the apiserver's `--min-request-timeout`.
   */
  kubeStreamMaxMs: number;
}

export type TimingProfile = 'fast' | 'realistic';

const FAST: SimulatorTimings = {
  permissionWindowMs: 300,
  poolReconcileMs: 50,
  nodeProvisionMs: 300,
  nodeRegisterMs: 200,
  nodeFailedReplaceMs: 5_000,
  nodeDeleteMs: 300,
  nodeDrainMs: 200,
  clusterProvisionMs: 200,
  clusterConnectMs: 200,
  clusterUpdateMs: 300,
  clusterDeleteMs: 300,
  tokenFillMs: 100,
  etcdBackupMs: 200,
  backupHourMs: 1_000,
  objectDeleteMs: 100,
  fleetReconcileMs: 100,
  fleetApplyMs: 150,
  fleetReadyMs: 100,
  fleetUninstallMs: 150,
  kubeStreamMaxMs: 1_800_000,
};

// Scaled-down real life: slow enough to watch states change in a demo, fast enough to wait for.
const REALISTIC: SimulatorTimings = {
  permissionWindowMs: 8_000,
  poolReconcileMs: 1_000,
  nodeProvisionMs: 25_000,
  nodeRegisterMs: 10_000,
  nodeFailedReplaceMs: 120_000,
  nodeDeleteMs: 8_000,
  nodeDrainMs: 6_000,
  clusterProvisionMs: 20_000,
  clusterConnectMs: 8_000,
  clusterUpdateMs: 20_000,
  clusterDeleteMs: 15_000,
  tokenFillMs: 2_000,
  etcdBackupMs: 5_000,
  backupHourMs: 60_000,
  objectDeleteMs: 2_000,
  fleetReconcileMs: 1_000,
  fleetApplyMs: 8_000,
  fleetReadyMs: 5_000,
  fleetUninstallMs: 5_000,
  kubeStreamMaxMs: 1_800_000,
};

export const TIMING_NAMES = Object.keys(FAST) as Array<keyof SimulatorTimings>;

export function resolveTimings(
  profile: TimingProfile = 'fast',
  overrides: Partial<SimulatorTimings> = {},
): SimulatorTimings {
  const timings = { ...(profile === 'realistic' ? REALISTIC : FAST) };
  for (const name of TIMING_NAMES) {
    const value = overrides[name];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) throw new Error(`timing ${name} must be a number >= 0`);
    timings[name] = value;
  }
  return timings;
}

export function isTimingName(name: string): name is keyof SimulatorTimings {
  return (TIMING_NAMES as string[]).includes(name);
}
