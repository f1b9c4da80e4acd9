/**
 * Bundle deployments as the Fleet agent moves them (rancher-212.md §4.b): a new deployment ID waits
 * (`WaitApplied`), is applied — or fails (`ErrApplied`, the `Deployed` condition False with Helm's
 * error) — then its resources come up (`NotReady` → `Ready`). A target that went away is
 * uninstalled, then its bundle deployment disappears.
 */
import { isPlainObject } from '../http';
import type { KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import type { Condition } from '../state';
import type { World } from '../world';
import { findChart, isFailingVersion } from './charts';
import { embeddedChart, type BundleContents } from './contents';
import { BUNDLE_DEPLOYMENT } from './names';
import { deploymentState, putCondition } from './summary';

/** How a test broke a deployment behind the manager's back (`POST /__sim/fleet/break`). */
export type Breakage = 'ErrApplied' | 'Modified' | 'NotReady';

interface Runtime {
  /** When the agent finishes applying the current deployment ID. */
  applyAt?: number;
  /** When the applied resources are ready. */
  readyAt?: number;
  /** When an uninstall finishes and the object goes. */
  deleteAt?: number;
  broken?: { state: Breakage; message: string; deploymentID: string };
  /** Its cluster's agent was gone at the last pass. */
  offline?: boolean;
}

/** Nothing is due: the agent has nothing to report until the deployment ID changes. */
function settled(runtime: Runtime | undefined): boolean {
  return (
    runtime !== undefined &&
    runtime.applyAt === undefined &&
    runtime.readyAt === undefined &&
    runtime.deleteAt === undefined &&
    runtime.broken === undefined &&
    runtime.offline !== true
  );
}

export class DeploymentAgent {
  private readonly runtimes = new Map<string, Runtime>();

  constructor(
    private readonly world: World,
    private readonly chartsUrl: () => string,
    private readonly contents: BundleContents,
  ) {}

  /** The controller set a new deployment ID: the agent picks it up after `fleetApplyMs`. */
  deploymentChanged(bd: KubeObject): void {
    const runtime = this.runtime(bd);
    runtime.applyAt = Date.now() + this.world.timings.fleetApplyMs;
    runtime.readyAt = undefined;
  }

  /** The target went away: uninstall, then delete (`fleetUninstallMs`). */
  uninstall(bd: KubeObject): void {
    if (bd.metadata.deletionTimestamp) return;
    this.runtime(bd).deleteAt = Date.now() + this.world.timings.fleetUninstallMs;
    this.write({ ...bd, metadata: { ...bd.metadata, deletionTimestamp: k8sTime() } });
  }

  break(bd: KubeObject, state: Breakage, message: string): KubeObject {
    const spec = isPlainObject(bd.spec) ? bd.spec : {};
    this.runtime(bd).broken = { state, message, deploymentID: String(spec.deploymentID ?? '') };
    return this.step(bd, Date.now(), true) ?? bd;
  }

  /** One agent pass over every bundle deployment; `agentReady` says whose cluster can apply. */
  advance(agentReady: (namespace: string) => boolean): void {
    const now = Date.now();
    for (const bd of this.world.local.list(BUNDLE_DEPLOYMENT)) {
      if (!agentReady(bd.metadata.namespace ?? '')) {
        this.offline(bd);
        continue;
      }
      if (!settled(this.runtimes.get(key(bd)))) this.step(bd, now, false);
    }
    for (const key of this.runtimes.keys()) {
      const [namespace, name] = key.split('/');
      if (!this.world.local.get(BUNDLE_DEPLOYMENT, namespace, name)) this.runtimes.delete(key);
    }
  }

  private step(bd: KubeObject, now: number, force: boolean): KubeObject | undefined {
    const runtime = this.runtime(bd);
    runtime.offline = false;
    if (runtime.deleteAt !== undefined) {
      if (now >= runtime.deleteAt) {
        this.runtimes.delete(key(bd));
        this.world.local.write('DELETED', BUNDLE_DEPLOYMENT, bd);
        return undefined;
      }
      return bd;
    }
    const spec = isPlainObject(bd.spec) ? bd.spec : {};
    const deploymentID = String(spec.deploymentID ?? '');
    const status: Record<string, unknown> = { ...(isPlainObject(bd.status) ? bd.status : {}) };
    const conditions: Condition[] = Array.isArray(status.conditions)
      ? (status.conditions as Condition[]).map((c) => ({ ...c }))
      : [];
    const before = JSON.stringify(status);
    putCondition(conditions, 'Monitored', 'True');
    // A new deployment ID clears a breakage: the agent redeploys.
    if (runtime.broken && runtime.broken.deploymentID !== deploymentID) runtime.broken = undefined;

    if (deploymentID === '') {
      status.ready = false;
    } else if (
      status.appliedDeploymentID !== deploymentID &&
      runtime.applyAt !== undefined &&
      now >= runtime.applyAt
    ) {
      const failure = this.applyError(spec);
      runtime.applyAt = undefined;
      if (failure) {
        putCondition(conditions, 'Deployed', 'False', failure);
        putCondition(conditions, 'Installed', 'False', failure);
        status.ready = false;
      } else {
        status.appliedDeploymentID = deploymentID;
        status.release = `${releaseNamespace(spec)}/${releaseName(bd, spec)}:${Number(String(status.release ?? '').split(':')[1] ?? 0) + 1}`;
        putCondition(conditions, 'Installed', 'True');
        putCondition(conditions, 'Deployed', 'True');
        status.ready = false;
        runtime.readyAt = now + this.world.timings.fleetReadyMs;
      }
    } else if (
      status.appliedDeploymentID === deploymentID &&
      runtime.readyAt !== undefined &&
      now >= runtime.readyAt
    ) {
      runtime.readyAt = undefined;
      status.ready = true;
      status.nonModified = true;
    }

    if (status.appliedDeploymentID === deploymentID && deploymentID !== '' && status.ready !== true) {
      status.nonReadyStatus = [progressing(bd, spec)];
      putCondition(conditions, 'Ready', 'False', 'deployment does not have minimum availability');
    } else if (status.ready === true) {
      status.nonReadyStatus = [];
      status.nonModified = true;
      status.modifiedStatus = [];
      putCondition(conditions, 'Ready', 'True');
    }
    if (
      status.appliedDeploymentID !== deploymentID &&
      conditions.find((c) => c.type === 'Deployed')?.status !== 'False'
    ) {
      putCondition(conditions, 'Ready', 'False', 'waiting for the agent to apply the deployment');
    }
    this.applyBreakage(runtime, status, conditions, bd, spec);
    status.conditions = conditions;
    status.display = display(bd, status, conditions);
    if (!force && JSON.stringify(status) === before) return bd;
    return this.write({ ...bd, status });
  }

  /** Behind the manager's back: a failed redeploy, a drifted resource, or pods that stopped being ready. */
  private applyBreakage(
    runtime: Runtime,
    status: Record<string, unknown>,
    conditions: Condition[],
    bd: KubeObject,
    spec: Record<string, unknown>,
  ): void {
    const broken = runtime.broken;
    if (!broken) return;
    const resource = progressing(bd, spec);
    if (broken.state === 'ErrApplied') {
      // The agent lost its release and could not reinstall it: nothing applied any more.
      status.appliedDeploymentID = '';
      status.ready = false;
      putCondition(conditions, 'Deployed', 'False', broken.message);
      putCondition(conditions, 'Ready', 'False', broken.message);
    } else if (broken.state === 'Modified') {
      status.nonModified = false;
      resource.summary = { state: 'modified', error: true, transitioning: false, message: [broken.message] };
      status.modifiedStatus = [{ ...resource, patch: '{"spec":{"replicas":0}}' }];
    } else {
      status.ready = false;
      status.nonReadyStatus = [
        {
          ...resource,
          summary: { state: 'error', error: true, transitioning: false, message: [broken.message] },
        },
      ];
      putCondition(conditions, 'Ready', 'False', broken.message);
    }
  }

  /** A cluster whose agent is gone: nothing it reports is ready (it counts against maxUnavailable). */
  private offline(bd: KubeObject): void {
    const status: Record<string, unknown> = { ...(isPlainObject(bd.status) ? bd.status : {}) };
    const conditions: Condition[] = Array.isArray(status.conditions)
      ? (status.conditions as Condition[]).map((c) => ({ ...c }))
      : [];
    const before = JSON.stringify([status.ready, conditions.map((c) => [c.type, c.status, c.message])]);
    status.ready = false;
    putCondition(conditions, 'Ready', 'False', 'cluster agent is not connected');
    putCondition(conditions, 'Monitored', 'False', 'cluster agent is not connected');
    const runtime = this.runtime(bd);
    runtime.offline = true;
    // When the agent comes back it applies whatever is current, then waits for readiness again.
    if (runtime.applyAt !== undefined) runtime.applyAt = Date.now() + this.world.timings.fleetApplyMs;
    if (status.appliedDeploymentID) runtime.readyAt = Date.now() + this.world.timings.fleetReadyMs;
    if (JSON.stringify([status.ready, conditions.map((c) => [c.type, c.status, c.message])]) === before)
      return;
    status.conditions = conditions;
    status.display = display(bd, status, conditions);
    this.write({ ...bd, status });
  }

  /**
   * Why Helm would fail. With `helmChartOptions` the agent downloads `helm.repo/chart/version`: a
   * chart the simulator's own repository does not list cannot be downloaded (other repositories
   * are assumed reachable). Without it the agent installs what the bundle's resources hold
   * (rancher-212.md §4.b): the chart found there by `DetermineStyle`, else plain manifests, and an
   * unreadable resource fails. A chart version with the pre-release `-fail` always fails.
   */
  private applyError(spec: Record<string, unknown>): string | undefined {
    const options = isPlainObject(spec.options) ? spec.options : {};
    const helm = isPlainObject(options.helm) ? options.helm : {};
    let chart: string;
    let version: string;
    if (isPlainObject(spec.helmChartOptions)) {
      chart = String(helm.chart ?? '');
      version = String(helm.version ?? '');
      const repo = String(helm.repo ?? '').replace(/\/+$/, '');
      if (repo === this.chartsUrl() && !findChart(chart, version))
        return `chart "${chart}" version "${version}" not found in ${repo} repository`;
    } else {
      const resources = this.contents.get(String(spec.deploymentID ?? '').split(':')[0]);
      if (!resources) return undefined;
      try {
        const embedded = embeddedChart(resources, options);
        if (!embedded) return undefined;
        ({ name: chart, version } = embedded);
      } catch (error) {
        return (error as Error).message;
      }
    }
    if (isFailingVersion(version)) {
      const release = String(helm.releaseName || chart);
      return `failed to install release ${release}: chart ${chart}-${version}: pre-install hook "${release}-preflight" failed: BackoffLimitExceeded`;
    }
    return undefined;
  }

  private runtime(bd: KubeObject): Runtime {
    let runtime = this.runtimes.get(key(bd));
    if (!runtime) this.runtimes.set(key(bd), (runtime = {}));
    return runtime;
  }

  private write(bd: KubeObject): KubeObject {
    return this.world.local.write('MODIFIED', BUNDLE_DEPLOYMENT, bd);
  }
}

function key(bd: KubeObject): string {
  return `${bd.metadata.namespace}/${bd.metadata.name}`;
}

function releaseNamespace(spec: Record<string, unknown>): string {
  const options = isPlainObject(spec.options) ? spec.options : {};
  return String(options.namespace || options.defaultNamespace || 'default');
}

function releaseName(bd: KubeObject, spec: Record<string, unknown>): string {
  const options = isPlainObject(spec.options) ? spec.options : {};
  const helm = isPlainObject(options.helm) ? options.helm : {};
  return String(helm.releaseName || bd.metadata.name);
}

/** The chart's workload as the agent reports a resource that is not ready yet. */
function progressing(bd: KubeObject, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: releaseNamespace(spec),
    name: releaseName(bd, spec),
    uid: '',
    summary: {
      state: 'in-progress',
      transitioning: true,
      message: ['Deployment does not have minimum availability.'],
    },
  };
}

/** `status.display` of a bundle deployment: deployed/monitored as text, and its state (`GetDeploymentState`). */
function display(
  bd: KubeObject,
  status: Record<string, unknown>,
  conditions: Condition[],
): Record<string, unknown> {
  const text = (type: string) => {
    const condition = conditions.find((c) => c.type === type);
    if (!condition) return '';
    return condition.status === 'True' ? 'True' : `${condition.status}: ${condition.message ?? ''}`;
  };
  return {
    deployed: text('Deployed'),
    monitored: text('Monitored'),
    state: deploymentState({ ...bd, status }),
  };
}
