/**
 * Rancher's `fleetcluster` controller (rancher-212.md §4.b): every management cluster that became
 * Ready gets a `fleet.cattle.io` Cluster in its Fleet workspace, named after its provisioning
 * cluster (`prod-a`, or `c-xxxxx` for a `/v3` one), labelled with its copied labels. Fleet then gives
 * it a namespace for its bundle deployments (`status.namespace`).
 */
import { uuid } from '../ids';
import type { KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import { isTrue, conditionStatus } from '../state';
import type { SimObject } from '../store';
import { CLUSTER } from '../steve/objects';
import type { World } from '../world';
import { API_VERSION, clusterNamespace, copiedLabels, FLEET_CLUSTER, isLabelValue } from './names';
import type { FleetClusterRef } from './targets';

export interface RegisteredCluster extends FleetClusterRef {
  /** The management cluster's id (`c-m-…` or `c-…`). */
  managementId: string;
  /** `cluster-fleet-default-<name>-<hash>`, where its bundle deployments live. */
  deploymentNamespace: string;
  /** The agent can apply: the management cluster is Ready and connected. */
  agentReady: boolean;
}

export class FleetRegistration {
  /** Management clusters that were Ready once: their Fleet cluster stays while they exist. */
  private readonly registered = new Set<string>();
  /** Last written form per Fleet cluster key, so an unchanged cluster is not rewritten. */
  private readonly written = new Map<string, string>();

  constructor(private readonly world: World) {}

  /** Writes the Fleet clusters that changed and returns every registered one, by name. */
  sync(): RegisteredCluster[] {
    const provisioningByTwin = new Map<string, KubeObject>();
    for (const cluster of this.world.local.list(CLUSTER)) {
      const twin = this.world.steve.provisioning.twinOf(
        cluster.metadata.namespace ?? '',
        cluster.metadata.name,
      );
      if (twin) provisioningByTwin.set(twin.id, cluster);
    }
    const out: RegisteredCluster[] = [];
    const live = new Set<string>();
    for (const id of this.world.clusters.table.sortedIds()) {
      const mgmt = this.world.clusters.table.get(id)!;
      if (mgmt.removed !== undefined || id === 'local') continue;
      if (isTrue(mgmt.conditions, 'Ready')) this.registered.add(id);
      if (!this.registered.has(id)) continue;
      const provisioning = provisioningByTwin.get(id);
      const workspace = String(mgmt.fields.fleetWorkspaceName || 'fleet-default');
      const name = provisioning?.metadata.name ?? (id.startsWith('c-m-') ? mgmt.name : id);
      const labels = this.labelsOf(mgmt, provisioning);
      const registered: RegisteredCluster = {
        name,
        namespace: workspace,
        labels,
        managementId: id,
        deploymentNamespace: clusterNamespace(workspace, name),
        agentReady:
          isTrue(mgmt.conditions, 'Ready') && conditionStatus(mgmt.conditions, 'Connected') !== 'False',
      };
      out.push(registered);
      live.add(`${workspace}/${name}`);
      this.write(registered);
    }
    for (const object of this.world.local.list(FLEET_CLUSTER)) {
      const key = `${object.metadata.namespace}/${object.metadata.name}`;
      if (live.has(key)) continue;
      this.written.delete(key);
      this.world.local.write('DELETED', FLEET_CLUSTER, object);
    }
    for (const id of this.registered) if (!this.world.clusters.table.has(id)) this.registered.delete(id);
    return out;
  }

  /**
   * The management cluster's labels, cleaned as Rancher exports them, plus the two it adds. A v2
   * cluster's management labels are its provisioning cluster's (`createNewCluster`).
   */
  private labelsOf(mgmt: SimObject, provisioning: KubeObject | undefined): Record<string, string> {
    const source = { ...mgmt.labels, ...(provisioning?.metadata.labels ?? {}) };
    const labels = copiedLabels(source);
    labels['management.cattle.io/cluster-name'] = mgmt.id;
    const display = provisioning?.metadata.name ?? mgmt.name;
    if (isLabelValue(display)) labels['management.cattle.io/cluster-display-name'] = display;
    return labels;
  }

  private write(cluster: RegisteredCluster): void {
    const key = `${cluster.namespace}/${cluster.name}`;
    const current = this.world.local.get(FLEET_CLUSTER, cluster.namespace, cluster.name);
    const signature = JSON.stringify([cluster.labels, cluster.agentReady]);
    if (current && this.written.get(key) === signature) return;
    this.written.set(key, signature);
    const object: KubeObject = current
      ? { ...current, metadata: { ...current.metadata, labels: cluster.labels } }
      : {
          apiVersion: API_VERSION,
          kind: 'Cluster',
          metadata: {
            name: cluster.name,
            namespace: cluster.namespace,
            uid: uuid(),
            resourceVersion: '',
            creationTimestamp: k8sTime(),
            labels: cluster.labels,
          },
          spec: {
            kubeConfigSecret: `${cluster.name}-kubeconfig`,
            kubeConfigSecretNamespace: cluster.namespace,
            agentEnvVars: [],
          },
          status: { namespace: cluster.deploymentNamespace },
        };
    const status = { ...(object.status as Record<string, unknown>) };
    status.namespace = cluster.deploymentNamespace;
    status.agent = {
      namespace: 'cattle-fleet-system',
      lastSeen: cluster.agentReady
        ? k8sTime()
        : ((status.agent as { lastSeen?: string })?.lastSeen ?? k8sTime()),
    };
    object.status = status;
    this.world.local.write(current ? 'MODIFIED' : 'ADDED', FLEET_CLUSTER, object);
  }
}
