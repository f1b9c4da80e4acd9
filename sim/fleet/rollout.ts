/**
 * Fleet's bundle reconciler (rancher-212.md §4.b; fleet `bundle_controller.go`, `target.go`,
 * `partition.go`, `bundle_status.go`): match clusters, stage a deployment ID per target, roll it out
 * within `maxUnavailable` per partition and `maxUnavailablePartitions`, create at most `MaxNew` (50)
 * new bundle deployments per pass, hold everything while `spec.paused`, and write the summary.
 */
import { createHash } from 'node:crypto';
import { uuid } from '../ids';
import { isPlainObject } from '../http';
import { clone } from '../merge';
import type { KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import type { Condition } from '../state';
import type { World } from '../world';
import { isSemver } from './charts';
import type { BundleContents } from './contents';
import type { DeploymentAgent } from './deployments';
import { API_VERSION, BUNDLE, BUNDLE_DEPLOYMENT } from './names';
import type { RegisteredCluster } from './registration';
import {
  deploymentMessage,
  deploymentState,
  emptySummary,
  incrementState,
  putCondition,
  readyMessage,
  worstState,
  type BundleState,
  type BundleSummary,
} from './summary';
import { limit, matchesTarget, matchTargetIndex, mergeOptions, targetsOf } from './targets';

/** "MaxNew is always 50": new bundle deployments staged per reconcile. */
export const MAX_NEW = 50;
/** Below this many targets there is one partition (`autoPartitionSize` applies from here on). */
const AUTO_PARTITION_THRESHOLD = 200;

/** Spec keys of a Bundle that are not `BundleDeploymentOptions`. */
const NOT_OPTIONS = new Set([
  'targets',
  'targetRestrictions',
  'rolloutStrategy',
  'paused',
  'dependsOn',
  'resources',
  'helmOpOptions',
  'contentsId',
  'ociContents',
]);

interface Target {
  cluster: RegisteredCluster;
  options: Record<string, unknown>;
  deploymentID: string;
  bd?: KubeObject;
}

export class BundleRollout {
  private readonly cache = new Map<
    string,
    { specJson: string; perTarget: Array<{ options: Record<string, unknown>; deploymentID: string }> }
  >();

  constructor(
    private readonly world: World,
    private readonly agent: DeploymentAgent,
    private readonly contents: BundleContents,
  ) {}

  /** `existing`: this bundle's bundle deployments, by their namespace. */
  reconcile(bundle: KubeObject, clusters: RegisteredCluster[], existing: Map<string, KubeObject>): void {
    const spec = isPlainObject(bundle.spec) ? bundle.spec : {};
    // Fleet 0.12 without EXPERIMENTAL_HELM_OPS (Rancher never sets it) fails the reconcile of a
    // bundle with `helmAppOptions` before it targets anything or writes a status
    // (`bundle_controller.go` at 0.12): nothing is deployed, nothing changes.
    if (isPlainObject(spec.helmAppOptions)) return;
    const workspace = bundle.metadata.namespace ?? '';
    const invalid = this.invalidVersion(spec);
    const targets: Target[] = [];
    if (!invalid) {
      const specTargets = targetsOf(spec);
      const perTarget = this.optionsPerTarget(bundle, spec, specTargets);
      for (const cluster of clusters) {
        if (cluster.namespace !== workspace) continue;
        const index = matchTargetIndex(specTargets, cluster);
        if (index < 0) continue;
        const { options, deploymentID } = perTarget[index];
        targets.push({ cluster, options, deploymentID, bd: existing.get(cluster.deploymentNamespace) });
      }
    }
    // Targets that went away are uninstalled.
    const kept = new Set(targets.map((target) => target.cluster.deploymentNamespace));
    for (const [namespace, bd] of existing) if (!kept.has(namespace)) this.agent.uninstall(bd);

    const rollout = isPlainObject(spec.rolloutStrategy) ? spec.rolloutStrategy : {};
    const paused = spec.paused === true;
    const maxUnavailable = limit(targets.length, rollout.maxUnavailable, '100%');
    let unavailable = targets.filter((t) => isUnavailable(t.bd)).length;
    let newlyCreated = 0;
    let unavailablePartitions = 0;
    const partitions = partitionsOf(targets, rollout);
    // Default 0: the next partition starts only once every earlier one is available again.
    const maxUnavailablePartitions = isZero(rollout.maxUnavailablePartitions)
      ? 0
      : limit(partitions.length, rollout.maxUnavailablePartitions, 0);
    const partitionStatus: Array<Record<string, unknown>> = [];
    let stopped = false;
    for (const partition of partitions) {
      const pMax = limit(
        partition.targets.length,
        partition.maxUnavailable ?? rollout.maxUnavailable,
        '100%',
      );
      let pUnavailable = partition.targets.filter((t) => isUnavailable(t.bd)).length;
      for (const target of partition.targets) {
        // Staging: the new ID is recorded on existing deployments whatever the rollout allows.
        if (target.bd) target.bd = this.stage(target.bd, target, spec);
        if (paused || stopped) continue;
        const current = target.bd
          ? String((target.bd.spec as Record<string, unknown>).deploymentID ?? '')
          : undefined;
        if (current === target.deploymentID) continue;
        if (!target.bd && newlyCreated >= MAX_NEW) continue;
        // `updateDeploymentFromStaged` (fleet `internal/cmd/controller/target/partition.go`): the
        // limits hold back only a deployment that is available now. One that is unavailable
        // already (failed, not ready, or new: it has no ready status yet) moves to the staged ID
        // whatever the counts, so a fixed version reaches the failed clusters first.
        const wasUnavailable = !target.bd || isUnavailable(target.bd);
        if (!wasUnavailable && (unavailable >= maxUnavailable || pUnavailable >= pMax)) continue;
        target.bd = this.deploy(bundle, target, spec);
        if (current === undefined) newlyCreated++;
        if (!wasUnavailable) {
          unavailable++;
          pUnavailable++;
        }
      }
      const summary = emptySummary();
      for (const target of partition.targets) this.count(summary, target);
      // A partition's own count is stricter: a target must be up to date and available, and the
      // partition is unavailable only above its limit (`status.go` `updatePartitionStatus`).
      const partitionUnavailable = partition.targets.filter(
        (t) => !upToDate(t) || isUnavailable(t.bd),
      ).length;
      partitionStatus.push({
        name: partition.name,
        count: partition.targets.length,
        maxUnavailable: pMax,
        unavailable: partitionUnavailable,
        summary,
      });
      if (partitionUnavailable > pMax) unavailablePartitions++;
      if (unavailablePartitions > maxUnavailablePartitions) stopped = true;
    }
    this.writeStatus(bundle, targets, {
      invalid,
      unavailable,
      unavailablePartitions,
      maxUnavailable,
      maxUnavailablePartitions,
      newlyCreated,
      partitions: partitionStatus,
    });
  }

  /**
   * Each target's merged options and deployment ID (`<manifest ID>:<options hash>`), computed once
   * per spec: every cluster a target matches shares them.
   */
  private optionsPerTarget(
    bundle: KubeObject,
    spec: Record<string, unknown>,
    specTargets: Array<Record<string, unknown>>,
  ): Array<{ options: Record<string, unknown>; deploymentID: string }> {
    const key = `${bundle.metadata.namespace}/${bundle.metadata.name}`;
    const specJson = JSON.stringify(spec);
    const cached = this.cache.get(key);
    if (cached?.specJson === specJson) return cached.perTarget;
    const baseOptions: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(spec))
      if (!NOT_OPTIONS.has(name)) baseOptions[name] = clone(value);
    const manifestID = manifestId(spec);
    // The controller stores the resources as the content the agents read (`Store`).
    this.contents.store(manifestID, spec.resources);
    const perTarget = specTargets.map((target) => {
      const options = mergeOptions(baseOptions, target);
      return { options, deploymentID: `${manifestID}:${hash(options)}` };
    });
    this.cache.set(key, { specJson, perTarget });
    return perTarget;
  }

  /** A bundle deployment with the bundle's new content staged (deployment ID unchanged). */
  private stage(bd: KubeObject, target: Target, bundleSpec: Record<string, unknown>): KubeObject {
    const spec = isPlainObject(bd.spec) ? bd.spec : {};
    if (spec.stagedDeploymentID === target.deploymentID) return bd;
    const next: Record<string, unknown> = {
      ...spec,
      stagedDeploymentID: target.deploymentID,
      stagedOptions: target.options,
    };
    if (isPlainObject(bundleSpec.helmOpOptions)) next.helmChartOptions = clone(bundleSpec.helmOpOptions);
    return this.world.local.write('MODIFIED', BUNDLE_DEPLOYMENT, { ...bd, spec: next });
  }

  /** Creates the bundle deployment, or points an existing one at the staged ID: the agent takes over. */
  private deploy(bundle: KubeObject, target: Target, bundleSpec: Record<string, unknown>): KubeObject {
    const spec: Record<string, unknown> = {
      deploymentID: target.deploymentID,
      stagedDeploymentID: target.deploymentID,
      options: target.options,
      stagedOptions: target.options,
    };
    if (isPlainObject(bundleSpec.helmOpOptions)) spec.helmChartOptions = clone(bundleSpec.helmOpOptions);
    if (Array.isArray(bundleSpec.dependsOn)) spec.dependsOn = clone(bundleSpec.dependsOn);
    let stored: KubeObject;
    if (target.bd) {
      stored = this.world.local.write('MODIFIED', BUNDLE_DEPLOYMENT, {
        ...target.bd,
        spec: { ...(target.bd.spec as object), ...spec },
      });
    } else {
      const workspace = bundle.metadata.namespace ?? '';
      stored = this.world.local.write('ADDED', BUNDLE_DEPLOYMENT, {
        apiVersion: API_VERSION,
        kind: 'BundleDeployment',
        metadata: {
          name: bundle.metadata.name,
          namespace: target.cluster.deploymentNamespace,
          uid: uuid(),
          resourceVersion: '',
          creationTimestamp: k8sTime(),
          labels: {
            'fleet.cattle.io/bundle-name': bundle.metadata.name,
            'fleet.cattle.io/bundle-namespace': workspace,
            'fleet.cattle.io/cluster': target.cluster.name,
            'fleet.cattle.io/cluster-namespace': target.cluster.namespace,
            'fleet.cattle.io/managed': 'true',
          },
        },
        spec,
        status: { ready: false, nonModified: true, conditions: [] },
      });
    }
    this.agent.deploymentChanged(stored);
    return stored;
  }

  private count(summary: BundleSummary, target: Target): void {
    const state: BundleState = target.bd ? deploymentState(target.bd) : 'Pending';
    incrementState(
      summary,
      `${target.cluster.namespace}/${target.cluster.name}`,
      state,
      deploymentMessage(target.bd),
      target.bd,
    );
    summary.desiredReady++;
  }

  /** A chart bundle needs a strict semver version (constraints are the HelmOp controller's job). */
  private invalidVersion(spec: Record<string, unknown>): string | undefined {
    if (!isPlainObject(spec.helmOpOptions)) return undefined;
    const helm = isPlainObject(spec.helm) ? spec.helm : {};
    const version = typeof helm.version === 'string' ? helm.version : '';
    if (isSemver(version)) return undefined;
    return `chart version cannot be deployed; check HelmOp status for more details: "${version}" is not a valid semantic version`;
  }

  private writeStatus(bundle: KubeObject, targets: Target[], rollout: Record<string, unknown>): void {
    const current = this.world.local.get(BUNDLE, bundle.metadata.namespace, bundle.metadata.name);
    if (!current) return;
    const summary = emptySummary();
    const states: BundleState[] = [];
    for (const target of targets) {
      this.count(summary, target);
      states.push(target.bd ? deploymentState(target.bd) : 'Pending');
    }
    const previous = isPlainObject(current.status) ? current.status : {};
    const conditions: Condition[] = Array.isArray(previous.conditions)
      ? (previous.conditions as Condition[]).map((c) => ({ ...c }))
      : [];
    const invalid = rollout.invalid as string | undefined;
    const notReady = invalid ?? readyMessage(summary, 'Cluster');
    if (notReady) putCondition(conditions, 'Ready', 'False', notReady);
    else putCondition(conditions, 'Ready', 'True');
    const { invalid: _invalid, ...counts } = rollout;
    const status: Record<string, unknown> = {
      summary,
      display: { readyClusters: `${summary.ready}/${summary.desiredReady}`, state: worstState(states) },
      conditions,
      ...counts,
      maxNew: MAX_NEW,
      observedGeneration: (current.metadata as unknown as Record<string, unknown>).generation ?? 1,
      resourcesSha256Sum: hash((current.spec as Record<string, unknown>) ?? {}),
    };
    if (stableJson(status) === stableJson(previous)) return;
    this.world.local.write('MODIFIED', BUNDLE, { ...current, status });
  }
}

interface Partition {
  name: string;
  maxUnavailable?: unknown;
  targets: Target[];
}

/**
 * Explicit `partitions` take the clusters they select (first match wins, the rest form a last
 * partition); without them, one partition below 200 targets, else chunks of `autoPartitionSize`.
 */
function partitionsOf(targets: Target[], rollout: Record<string, unknown>): Partition[] {
  const explicit = Array.isArray(rollout.partitions) ? rollout.partitions.filter(isPlainObject) : [];
  if (explicit.length > 0) {
    const out: Partition[] = explicit.map((p, i) => ({
      name: typeof p.name === 'string' && p.name !== '' ? p.name : `partition-${i}`,
      maxUnavailable: p.maxUnavailable,
      targets: [],
    }));
    const rest: Partition = { name: 'unpartitioned', targets: [] };
    for (const target of targets) {
      const index = explicit.findIndex((p) => matchesTarget(p, target.cluster));
      (index < 0 ? rest : out[index]).targets.push(target);
    }
    return rest.targets.length > 0 ? [...out, rest] : out;
  }
  if (targets.length < AUTO_PARTITION_THRESHOLD) return [{ name: 'All', targets }];
  const size = limit(targets.length, rollout.autoPartitionSize, '25%');
  const out: Partition[] = [];
  for (let i = 0; i < targets.length; i += size) {
    out.push({ name: `Partition ${out.length}`, targets: targets.slice(i, i + size) });
  }
  return out;
}

/** fleet `upToDate`: staged, current and applied IDs are all the target's. */
function upToDate(target: Target): boolean {
  if (!target.bd) return false;
  const spec = isPlainObject(target.bd.spec) ? target.bd.spec : {};
  const status = isPlainObject(target.bd.status) ? target.bd.status : {};
  return (
    spec.stagedDeploymentID === target.deploymentID &&
    spec.deploymentID === target.deploymentID &&
    status.appliedDeploymentID === target.deploymentID
  );
}

/** fleet `IsUnavailable`: a deployment not yet applied or not ready. */
function isUnavailable(bd: KubeObject | undefined): boolean {
  if (!bd) return false;
  const spec = isPlainObject(bd.spec) ? bd.spec : {};
  const status = isPlainObject(bd.status) ? bd.status : {};
  return (status.appliedDeploymentID ?? '') !== (spec.deploymentID ?? '') || status.ready !== true;
}

function isZero(value: unknown): boolean {
  return value === undefined || value === null || value === 0 || value === '0' || value === '0%';
}

/** `s-<hash>`: the manifest ID of the bundle's content (chart coordinates or resources). */
function manifestId(spec: Record<string, unknown>): string {
  const helm = isPlainObject(spec.helm) ? spec.helm : {};
  return `s-${hash({ repo: helm.repo, chart: helm.chart, version: helm.version, resources: spec.resources ?? null }).slice(0, 57)}`;
}

function hash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

/** JSON with object keys sorted, so equal values hash and compare equal. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isPlainObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => value[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableJson(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
