import { generateName, randomChars } from '../ids';
import { ApiError, invalidReference } from '../http';
import { mergeProtectedMap, stringMap } from '../merge';
import type { SimObject } from '../store';
import type { World } from '../world';
import { requireString, ResourceType, type RequestContext } from './resource-type';

const COMMAND_FIELDS = [
  'token',
  'manifestUrl',
  'command',
  'insecureCommand',
  'nodeCommand',
  'insecureNodeCommand',
  'windowsNodeCommand',
  'insecureWindowsNodeCommand',
];

/** `/v3/clusterregistrationtokens` (§5): the command fields are filled by a controller, later. */
export class RegistrationTokenType extends ResourceType {
  constructor(world: World) {
    super(world, {
      schemaId: 'clusterRegistrationToken',
      plural: 'clusterRegistrationTokens',
      scoped: true,
      filters: ['name', 'clusterId'],
      indexed: ['clusterId'],
    });
  }

  override create(body: Record<string, unknown>, _ctx: RequestContext): SimObject {
    const clusterId = requireString(body, 'clusterId');
    const cluster = this.world.clusters.table.get(clusterId);
    if (!cluster) throw invalidReference('clusterId', 'cluster', clusterId);
    let name: string;
    if (typeof body.name === 'string' && body.name !== '') {
      name = body.name;
      // A fixed name created twice is a translated k8s AlreadyExists (§5, terraform's default-token).
      if (this.table.has(`${clusterId}:${name}`)) {
        throw new ApiError(
          409,
          'AlreadyExists',
          `clusterregistrationtokens.management.cattle.io "${name}" already exists`,
        );
      }
    } else {
      name = generateName('crt-', (candidate) => this.table.has(`${clusterId}:${candidate}`));
    }
    const fields: Record<string, unknown> = { clusterId };
    for (const field of COMMAND_FIELDS) fields[field] = '';
    const object = this.world.newObject('clusterRegistrationToken', `${clusterId}:${name}`, name, fields);
    object.labels = stringMap(body.labels);
    Object.assign(object.annotations, stringMap(body.annotations));
    this.table.add(object);
    this.world.scheduler.ensure(`${object.id}#fill`, this.world.timings.tokenFillMs, () => this.fill(object));
    return object;
  }

  /** What `clusterregistrationtoken/status.go` writes for an RKE1 server (§5). */
  private fill(object: SimObject): void {
    if (!this.isLive(object)) return;
    const server = this.world.serverUrl;
    const clusterId = object.fields.clusterId as string;
    const token = randomChars(54);
    const manifestUrl = `${server}/v3/import/${token}_${clusterId}.yaml`;
    const agent = `rancher/rancher-agent:${this.world.version}`;
    const cluster = this.world.clusters.table.get(clusterId);
    if (cluster && (cluster.fields.driver === 'rke2' || cluster.fields.driver === 'k3s')) {
      // Provisioning-v2 clusters register nodes through the system agent (§5).
      const install = (curl: string) =>
        `${curl} ${server}/system-agent-install.sh | sudo sh -s - --server ${server} --label 'cattle.io/os=linux' --token ${token}`;
      const windows = (curl: string) =>
        `${curl} ${server}/wins-agent-install.ps1 -o install.ps1; Set-ExecutionPolicy Bypass -Scope Process -Force; ` +
        `./install.ps1 -Server ${server} -Label 'cattle.io/os=windows' -Token ${token} -Worker`;
      Object.assign(object.fields, {
        token,
        manifestUrl,
        command: `kubectl apply -f ${manifestUrl}`,
        insecureCommand: `curl --insecure -sfL ${manifestUrl} | kubectl apply -f -`,
        nodeCommand: install('curl -fL'),
        insecureNodeCommand: install('curl --insecure -fL'),
        windowsNodeCommand: windows('curl.exe -fL'),
        insecureWindowsNodeCommand: windows('curl.exe --insecure -fL'),
      });
      return;
    }
    const docker =
      'sudo docker run -d --privileged --restart=unless-stopped --net=host -v /etc/kubernetes:/etc/kubernetes ' +
      `-v /var/run:/var/run ${agent} --server ${server} --token ${token}`;
    Object.assign(object.fields, {
      token,
      manifestUrl,
      command: `kubectl apply -f ${manifestUrl}`,
      insecureCommand: `curl --insecure -sfL ${manifestUrl} | kubectl apply -f -`,
      nodeCommand: docker,
      insecureNodeCommand: '',
      windowsNodeCommand:
        `PowerShell -NoLogo -NonInteractive -Command "& {docker run -v c:\\:c:\\host ${agent} bootstrap ` +
        `--server ${server} --token ${token} | iex}"`,
      insecureWindowsNodeCommand: '',
    });
  }

  override update(
    object: SimObject,
    body: Record<string, unknown>,
    _replace: boolean,
    _ctx: RequestContext,
  ): void {
    object.labels = mergeProtectedMap(object.labels, body.labels);
    object.annotations = mergeProtectedMap(object.annotations, body.annotations);
  }
}
