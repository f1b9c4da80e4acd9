/**
 * The steve types the simulator serves and how a URL segment finds one: the schema id, singular or
 * plural, any case (`apiserver pkg/types/schemas.go` `LookupSchema`, rancher-api.md §9.1).
 */
import type { KubeObject } from '../kube/store';
import type { World } from '../world';
import { fleetSchemas } from '../fleet/schemas';
import { ManagementNodes } from './management-nodes';
import { ProvisioningController } from './provisioning';
import type { SteveSchema } from './schema';

/** Node drivers with a machine-config CRD out of the box (`dynamicschema.go`, §9.2). */
const BUILT_IN_DRIVERS = [
  'amazonec2',
  'azure',
  'digitalocean',
  'harvester',
  'linode',
  'openstack',
  'vmwarevsphere',
];

export class SteveTypes {
  readonly provisioning: ProvisioningController;
  /** Rancher's management Nodes of provisioning-v2 clusters and their Nodes' kubelet conditions. */
  readonly managementNodes: ManagementNodes;
  private readonly schemas = new Map<string, SteveSchema>();

  constructor(private readonly world: World) {
    this.provisioning = new ProvisioningController(world);
    for (const schema of this.provisioning.schemas()) this.add(schema);
    this.managementNodes = new ManagementNodes(world);
    this.add(this.managementNodes.schema());
    this.add(settingSchema());
    if (world.fleetInstalled) for (const schema of fleetSchemas(world)) this.add(schema);
    for (const driver of BUILT_IN_DRIVERS) this.addDriver(driver);
  }

  /** A machine-config type for `driver` (`rke-machine-config.cattle.io.<driver>config`). */
  addDriver(driver: string): void {
    const lower = driver.toLowerCase();
    if (this.schemas.has(`rke-machine-config.cattle.io.${lower}config`)) return;
    this.add({
      id: `rke-machine-config.cattle.io.${lower}config`,
      group: 'rke-machine-config.cattle.io',
      version: 'v1',
      kind: `${lower[0].toUpperCase()}${lower.slice(1)}Config`,
      resource: `${lower}configs`,
      namespaced: true,
      methods: ['POST', 'PUT', 'PATCH', 'DELETE'],
      admit: (world, next, current) => {
        // The mutating webhook records who created it, as for provisioning clusters.
        if (!current) {
          next.metadata.annotations = {
            ...next.metadata.annotations,
            'field.cattle.io/creatorId': world.userId,
          };
        }
      },
      state: () => ({ name: 'active', error: false, transitioning: false, message: '' }),
    });
  }

  schemaFor(segment: string): SteveSchema | undefined {
    const lower = segment.toLowerCase();
    return (
      this.schemas.get(lower) ?? (lower.endsWith('s') ? this.schemas.get(lower.slice(0, -1)) : undefined)
    );
  }

  /** Every served type, by id. */
  all(): SteveSchema[] {
    return [...this.schemas.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(id: string): SteveSchema {
    const schema = this.schemas.get(id);
    if (!schema) throw new Error(`no steve schema ${id}`);
    return schema;
  }

  private add(schema: SteveSchema): void {
    this.schemas.set(schema.id, schema);
  }
}

/** `management.cattle.io.settings`: the `/v3` settings as Kubernetes objects (rancher-212.md §1.5). */
function settingSchema(): SteveSchema {
  return {
    id: 'management.cattle.io.setting',
    group: 'management.cattle.io',
    version: 'v3',
    kind: 'Setting',
    resource: 'settings',
    namespaced: false,
    methods: [],
    items: (world: World): KubeObject[] =>
      world.settings.table.sortedIds().map((id) => {
        const setting = world.settings.table.get(id)!;
        return {
          apiVersion: 'management.cattle.io/v3',
          kind: 'Setting',
          metadata: {
            name: setting.name,
            uid: setting.uuid,
            resourceVersion: '1',
            creationTimestamp: setting.created,
          },
          value: setting.fields.value,
          default: setting.fields.default,
          customized: setting.fields.customized,
          source: setting.fields.source,
        };
      }),
    state: () => ({ name: 'active', error: false, transitioning: false, message: '' }),
  };
}
