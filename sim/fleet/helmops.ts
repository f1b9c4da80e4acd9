/**
 * Fleet's HelmOp controller (rancher-212.md §4.b, fleet `helmop_controller.go`): each HelmOp owns a
 * Bundle of the same name (label `fleet.cattle.io/fleet-helm-name`) carrying its `BundleSpec`, one
 * resolved chart version, no resources and `helmOpOptions` (so the agents download the chart).
 * Its status is summed over its bundle deployments (`StatusBase`, `SetFields`).
 */
import { uuid } from '../ids';
import { isPlainObject } from '../http';
import { clone } from '../merge';
import type { KubeObject } from '../kube/store';
import { k8sTime } from '../resources/resource-type';
import type { Condition } from '../state';
import type { World } from '../world';
import { isSemver, latestVersion } from './charts';
import { API_VERSION, BUNDLE, BUNDLE_DEPLOYMENT, HELMOP, HELMOP_LABEL } from './names';
import {
  deploymentMessage,
  deploymentState,
  emptySummary,
  incrementState,
  putCondition,
  readyMessage,
  STATE_RANK,
  type BundleState,
} from './summary';

/** HelmOp spec keys that are not part of the Bundle's spec. */
const HELMOP_ONLY = ['labels', 'pollingInterval', 'helmSecretName', 'insecureSkipTLSVerify'];

export class HelmOpController {
  constructor(
    private readonly world: World,
    private readonly chartsUrl: () => string,
  ) {}

  /** Creates or updates each HelmOp's Bundle; removes Bundles whose HelmOp is gone. */
  syncBundles(): void {
    const helmops = this.world.local.list(HELMOP);
    const wanted = new Set<string>();
    for (const helmop of helmops) {
      wanted.add(`${helmop.metadata.namespace}/${helmop.metadata.name}`);
      this.syncBundle(helmop);
    }
    for (const bundle of this.world.local.list(BUNDLE)) {
      if (bundle.metadata.labels?.[HELMOP_LABEL] === undefined) continue;
      if (!wanted.has(`${bundle.metadata.namespace}/${bundle.metadata.name}`))
        this.world.local.write('DELETED', BUNDLE, bundle);
    }
  }

  private syncBundle(helmop: KubeObject): void {
    const spec = isPlainObject(helmop.spec) ? helmop.spec : {};
    const { namespace, name } = helmop.metadata;
    const helm = isPlainObject(spec.helm) ? clone(spec.helm) : {};
    const version = this.resolve(helm);
    const bundleSpec: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(spec))
      if (!HELMOP_ONLY.includes(key)) bundleSpec[key] = clone(value);
    bundleSpec.helm = { ...helm, version: version ?? String(helm.version ?? '') };
    delete bundleSpec.resources;
    const options: Record<string, unknown> = {};
    if (typeof spec.helmSecretName === 'string' && spec.helmSecretName !== '')
      options.secretName = spec.helmSecretName;
    if (spec.insecureSkipTLSVerify === true) options.insecureSkipTLSverify = true;
    bundleSpec.helmOpOptions = options;
    // The controller's default target: the `default` cluster group (none exists in fleet-default).
    if (!Array.isArray(bundleSpec.targets) || bundleSpec.targets.length === 0)
      bundleSpec.targets = [{ name: 'default', clusterGroup: 'default' }];
    const labels: Record<string, string> = {};
    if (isPlainObject(spec.labels)) for (const [k, v] of Object.entries(spec.labels)) labels[k] = String(v);
    labels[HELMOP_LABEL] = name;

    const current = this.world.local.get(BUNDLE, namespace, name);
    if (
      current &&
      JSON.stringify([current.spec, current.metadata.labels]) === JSON.stringify([bundleSpec, labels])
    )
      return;
    const meta = current
      ? { ...current.metadata, labels }
      : {
          name,
          namespace,
          uid: uuid(),
          resourceVersion: '',
          creationTimestamp: k8sTime(),
          labels,
        };
    const generation =
      Number((current?.metadata as unknown as Record<string, unknown> | undefined)?.generation ?? 0) + 1;
    Object.assign(meta, {
      generation,
      ownerReferences: [
        {
          apiVersion: API_VERSION,
          kind: 'HelmOp',
          name,
          uid: helmop.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    });
    this.world.local.write(current ? 'MODIFIED' : 'ADDED', BUNDLE, {
      apiVersion: API_VERSION,
      kind: 'Bundle',
      metadata: meta,
      spec: bundleSpec,
      ...(current?.status ? { status: current.status } : {}),
    });
  }

  /**
   * One concrete version for every cluster: a strict semver as given; `""` or `*` the newest stable
   * version the simulator's repository lists. Other constraints are not resolved here.
   */
  private resolve(helm: Record<string, unknown>): string | undefined {
    const version = typeof helm.version === 'string' ? helm.version.trim() : '';
    if (isSemver(version)) return version;
    const repo = String(helm.repo ?? '').replace(/\/+$/, '');
    if ((version === '' || version === '*') && repo === this.chartsUrl())
      return latestVersion(String(helm.chart ?? ''));
    return undefined;
  }

  /** `StatusBase` of each HelmOp from its bundle deployments, plus `version` and its conditions. */
  writeStatuses(): void {
    const deployments = new Map<string, KubeObject[]>();
    for (const bd of this.world.local.list(BUNDLE_DEPLOYMENT)) {
      const labels = bd.metadata.labels ?? {};
      const owner = `${labels['fleet.cattle.io/bundle-namespace']}/${labels['fleet.cattle.io/bundle-name']}`;
      let list = deployments.get(owner);
      if (!list) deployments.set(owner, (list = []));
      list.push(bd);
    }
    for (const helmop of this.world.local.list(HELMOP)) {
      const key = `${helmop.metadata.namespace}/${helmop.metadata.name}`;
      const bundle = this.world.local.get(BUNDLE, helmop.metadata.namespace, helmop.metadata.name);
      const bds = (deployments.get(key) ?? []).filter((bd) => !bd.metadata.deletionTimestamp);
      bds.sort((a, b) => (a.metadata.uid < b.metadata.uid ? -1 : 1));
      const summary = emptySummary();
      let maxState: BundleState | '' = '';
      let message = '';
      const perCluster = new Map<string, boolean>();
      for (const bd of bds) {
        const state = deploymentState(bd);
        incrementState(summary, bd.metadata.name, state, deploymentMessage(bd), bd);
        summary.desiredReady++;
        if (maxState === '' || STATE_RANK[state] > STATE_RANK[maxState]) {
          maxState = state;
          message = deploymentMessage(bd);
        }
        const cluster = bd.metadata.labels?.['fleet.cattle.io/cluster'] ?? bd.metadata.namespace ?? '';
        perCluster.set(cluster, (perCluster.get(cluster) ?? true) && state === 'Ready');
      }
      if (maxState === 'Ready') {
        maxState = '';
        message = '';
      }
      const previous = isPlainObject(helmop.status) ? helmop.status : {};
      const conditions: Condition[] = Array.isArray(previous.conditions)
        ? (previous.conditions as Condition[]).map((c) => ({ ...c }))
        : [];
      const bundleSpec = bundle && isPlainObject(bundle.spec) ? bundle.spec : {};
      const version = isPlainObject(bundleSpec.helm) ? String(bundleSpec.helm.version ?? '') : '';
      if (isSemver(version)) putCondition(conditions, 'Accepted', 'True');
      else
        putCondition(conditions, 'Accepted', 'False', `could not resolve a chart version from "${version}"`);
      const notReady = readyMessage(summary, 'Bundle');
      if (notReady) putCondition(conditions, 'Ready', 'False', notReady);
      else putCondition(conditions, 'Ready', 'True');
      const status: Record<string, unknown> = {
        summary,
        display: {
          readyBundleDeployments: `${summary.ready}/${summary.desiredReady}`,
          state: maxState,
          message,
          error: maxState === 'ErrApplied',
        },
        readyClusters: [...perCluster.values()].filter(Boolean).length,
        desiredReadyClusters: perCluster.size,
        conditions,
        version,
        observedGeneration: (helmop.metadata as unknown as Record<string, unknown>).generation ?? 1,
      };
      if (JSON.stringify(status) === JSON.stringify(previous)) continue;
      this.world.local.write('MODIFIED', HELMOP, { ...helmop, status });
    }
  }
}
