import type { World } from '../world';
import { ResourceType } from './resource-type';

/**
 * Read-only settings a client probes: `server-version` (terraform's version check, §1.5),
 * `k8s-version` (the default kubernetesVersion, §3.1) and `server-url`.
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
    const values: Record<string, string> = {
      'server-version': this.world.version,
      'k8s-version': this.world.defaultKubernetesVersion,
      'server-url': this.world.serverUrl,
      'kubeconfig-generate-token': 'true',
    };
    for (const [name, value] of Object.entries(values)) {
      this.table.add(
        this.world.newObject('setting', name, name, { value, default: value, customized: false, source: '' }),
      );
    }
  }
}
