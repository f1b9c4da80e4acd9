/**
 * Rancher's Fleet, on the local cluster behind steve (rancher-212.md §4.b): cluster registration,
 * the HelmOp and bundle controllers and the agents, run as one reconcile pass every
 * `fleetReconcileMs` while there is Fleet work, and on demand before a Fleet type is read.
 */
import type { World } from '../world';
import { BundleContents } from './contents';
import { DeploymentAgent, type Breakage } from './deployments';
import { HelmOpController } from './helmops';
import { BUNDLE, BUNDLE_DEPLOYMENT, FLEET_CLUSTER, HELMOP } from './names';
import { FleetRegistration, type RegisteredCluster } from './registration';
import { BundleRollout } from './rollout';
import {
  deploymentMessage,
  deploymentState,
  emptySummary,
  incrementState,
  putCondition,
  worstState,
  type BundleState,
} from './summary';
import type { KubeObject } from '../kube/store';
import { isPlainObject } from '../http';
import type { Condition } from '../state';

const TIMER = 'fleet-reconcile';

export class FleetController {
  readonly registration: FleetRegistration;
  readonly agent: DeploymentAgent;
  private readonly helmops: HelmOpController;
  private readonly rollout: BundleRollout;
  /** The local store's resourceVersion after the last full pass. */
  private settledAt = -1;

  constructor(private readonly world: World) {
    const chartsUrl = () => `${world.serverUrl}/charts`;
    this.registration = new FleetRegistration(world);
    const contents = new BundleContents();
    this.agent = new DeploymentAgent(world, chartsUrl, contents);
    this.helmops = new HelmOpController(world, chartsUrl);
    this.rollout = new BundleRollout(world, this.agent, contents);
  }

  /** Something Fleet watches changed: reconcile soon (and keep going while there is work). */
  kick(): void {
    this.world.scheduler.ensure(TIMER, this.world.timings.fleetReconcileMs, () => {
      this.reconcile();
      if (this.hasWork()) this.kick();
    });
  }

  /** One pass of every controller, in the order their outputs feed each other. */
  reconcile(): void {
    const clusters = this.registration.sync();
    const agentReady = new Map(clusters.map((c) => [c.deploymentNamespace, c.agentReady]));
    this.agent.advance((namespace) => agentReady.get(namespace) === true);
    // Every input of the controllers below lives in the local store: no write since the last
    // pass, nothing to do (the pass would write nothing).
    if (this.world.local.resourceVersion === this.settledAt) return;
    this.helmops.syncBundles();
    // One pass over the bundle deployments, grouped by the bundle that owns them.
    const byBundle = new Map<string, Map<string, KubeObject>>();
    for (const bd of this.world.local.list(BUNDLE_DEPLOYMENT)) {
      const labels = bd.metadata.labels ?? {};
      const owner = `${labels['fleet.cattle.io/bundle-namespace']}/${labels['fleet.cattle.io/bundle-name']}`;
      let group = byBundle.get(owner);
      if (!group) byBundle.set(owner, (group = new Map()));
      group.set(bd.metadata.namespace ?? '', bd);
    }
    for (const bundle of this.world.local.list(BUNDLE)) {
      const owner = `${bundle.metadata.namespace}/${bundle.metadata.name}`;
      this.rollout.reconcile(bundle, clusters, byBundle.get(owner) ?? new Map());
      byBundle.delete(owner);
    }
    // Deployments of a deleted Bundle are garbage: the agents uninstall them.
    for (const group of byBundle.values()) for (const bd of group.values()) this.agent.uninstall(bd);
    this.helmops.writeStatuses();
    this.writeClusterStatuses(clusters);
    this.settledAt = this.world.local.resourceVersion;
  }

  /** Registration and cluster statuses: what a read of `fleet.cattle.io.clusters` needs to be current. */
  refreshClusters(): void {
    this.writeClusterStatuses(this.registration.sync());
  }

  /** `POST /__sim/fleet/break`: the deployment fails, drifts or stops being ready behind the manager's back. */
  break(namespace: string, name: string, state: Breakage, message: string): KubeObject | undefined {
    const bd = this.world.local.get(BUNDLE_DEPLOYMENT, namespace, name);
    if (!bd) return undefined;
    const stored = this.agent.break(bd, state, message);
    this.kick();
    return stored;
  }

  private hasWork(): boolean {
    return (
      this.world.local.list(BUNDLE).length > 0 ||
      this.world.local.list(HELMOP).length > 0 ||
      this.world.local.list(BUNDLE_DEPLOYMENT).length > 0
    );
  }

  /** A Fleet cluster's `status.summary` and `display.readyBundles` over its bundle deployments. */
  private writeClusterStatuses(clusters: RegisteredCluster[]): void {
    const byNamespace = new Map<string, KubeObject[]>();
    for (const bd of this.world.local.list(BUNDLE_DEPLOYMENT)) {
      const namespace = bd.metadata.namespace ?? '';
      let list = byNamespace.get(namespace);
      if (!list) byNamespace.set(namespace, (list = []));
      list.push(bd);
    }
    for (const cluster of clusters) {
      const object = this.world.local.get(FLEET_CLUSTER, cluster.namespace, cluster.name);
      if (!object) continue;
      const summary = emptySummary();
      const states: BundleState[] = [];
      for (const bd of byNamespace.get(cluster.deploymentNamespace) ?? []) {
        if (bd.metadata.deletionTimestamp) continue;
        const state = deploymentState(bd);
        states.push(state);
        incrementState(summary, bd.metadata.name, state, deploymentMessage(bd), bd);
        summary.desiredReady++;
      }
      const previous = isPlainObject(object.status) ? object.status : {};
      const conditions: Condition[] = Array.isArray(previous.conditions)
        ? (previous.conditions as Condition[]).map((c) => ({ ...c }))
        : [];
      if (cluster.agentReady) putCondition(conditions, 'Ready', 'True');
      else putCondition(conditions, 'Ready', 'False', 'cluster agent is not connected');
      const status: Record<string, unknown> = {
        ...previous,
        summary,
        display: {
          readyBundles: `${summary.ready}/${summary.desiredReady}`,
          state: cluster.agentReady ? worstState(states) : 'NotReady',
        },
        readyGitRepos: 0,
        desiredReadyGitRepos: 0,
        conditions,
      };
      if (JSON.stringify(status) === JSON.stringify(previous)) continue;
      this.world.local.write('MODIFIED', FLEET_CLUSTER, { ...object, status });
    }
  }
}
