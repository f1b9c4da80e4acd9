import { servesRke1 } from '../version';
import type { World } from '../world';
import { ResourceType } from './resource-type';

/**
 * Read-only settings a client probes: `server-version` (terraform's version check, §1.5),
 * `k8s-version` (the default kubernetesVersion, §3.1), `k8s-versions-current` and `server-url`.
 */
export class SettingType extends ResourceType {
  constructor(world: World) {
    super(world, { schemaId: 'setting', plural: 'settings', scoped: false, filters: ['name'] });
  }

  override get canCreate(): boolean {
    return false;
  }

  override get canUpdate(): boolean {
    return false;
  }

  override get canRemove(): boolean {
    return false;
  }

  /** Creates the settings once the server knows its own URL. */
  install(): void {
    const { world } = this;
    const range = (versions: string[]) => {
      const minors = versions.map((v) => Number(/^v1\.(\d+)\./.exec(v)?.[1] ?? 0)).sort((a, b) => a - b);
      return `>=v1.${minors[0]}.x <=v1.${minors[minors.length - 1]}.x`;
    };
    const values: Record<string, string> = {
      // Nothing writes the RKE1 default from 2.12 on (rancher-212.md §1.6).
      'k8s-version': servesRke1(world.rancher) ? world.defaultKubernetesVersion : '',
      // The RKE1 versions on offer, a comma list the KDM sync writes up to 2.11 (§1.6).
      'k8s-versions-current': servesRke1(world.rancher) ? world.kubernetesVersions.join(',') : '',
      'server-url': world.serverUrl,
      'kubeconfig-generate-token': 'true',
      'rke2-default-version': world.rke2Versions[0] ?? '',
      'k3s-default-version': world.k3sVersions[0] ?? '',
      'ui-k8s-supported-versions-range': range([...world.rke2Versions, ...world.k3sVersions]),
    };
    for (const [name, value] of Object.entries(values)) {
      this.table.add(
        world.newObject('setting', name, name, { value, default: value, customized: false, source: '' }),
      );
    }
    // The image sets CATTLE_SERVER_VERSION, which the setting store reports as `env` (§1.5).
    this.table.add(
      world.newObject('setting', 'server-version', 'server-version', {
        value: world.version,
        default: 'dev',
        customized: false,
        source: 'env',
      }),
    );
  }
}
