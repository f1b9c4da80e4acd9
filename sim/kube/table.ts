/**
 * Server-side printing: kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`
 * and prints the `meta.k8s.io/v1` Table it gets back, with the columns kube-apiserver's printers
 * use for these kinds (`pkg/printers/internalversion`). Rows carry the object's metadata
 * (`includeObject=Metadata`, the default), the whole object, or nothing.
 */
import { isNodeReady } from './nodes';
import { badRequest } from './status';
import type { KubeObject } from './store';

interface Column {
  name: string;
  type: 'string' | 'integer';
  format?: 'name';
  priority?: number;
  description: string;
  cell: (object: KubeObject, now: number) => string | number;
}

type IncludeObject = 'None' | 'Metadata' | 'Object';

const name: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (object) => object.metadata.name,
};
const age: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (object, now) => humanDuration(now - Date.parse(object.metadata.creationTimestamp)),
};

const COLUMNS: Readonly<Record<string, Column[]>> = {
  configmaps: [
    name,
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of keys in data and binaryData.',
      cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length,
    },
    age,
  ],
  namespaces: [
    name,
    {
      name: 'Status',
      type: 'string',
      description: 'The status of the namespace.',
      cell: (o) => field(o, 'status', 'phase'),
    },
    age,
  ],
  nodes: [
    name,
    { name: 'Status', type: 'string', description: 'The status of the node.', cell: nodeStatus },
    { name: 'Roles', type: 'string', description: 'The roles of the node.', cell: nodeRoles },
    age,
    {
      name: 'Version',
      type: 'string',
      description: 'Kubelet version.',
      cell: (o) => field(o, 'status', 'nodeInfo', 'kubeletVersion'),
    },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      description: 'Internal IP.',
      cell: (o) => nodeAddress(o, 'InternalIP'),
    },
    {
      name: 'External-IP',
      type: 'string',
      priority: 1,
      description: 'External IP.',
      cell: (o) => nodeAddress(o, 'ExternalIP'),
    },
    {
      name: 'OS-Image',
      type: 'string',
      priority: 1,
      description: 'OS image.',
      cell: (o) => field(o, 'status', 'nodeInfo', 'osImage'),
    },
    {
      name: 'Kernel-Version',
      type: 'string',
      priority: 1,
      description: 'Kernel version.',
      cell: (o) => field(o, 'status', 'nodeInfo', 'kernelVersion'),
    },
    {
      name: 'Container-Runtime',
      type: 'string',
      priority: 1,
      description: 'Container runtime version.',
      cell: (o) => field(o, 'status', 'nodeInfo', 'containerRuntimeVersion'),
    },
  ],
  pods: [
    name,
    { name: 'Ready', type: 'string', description: 'Ready containers of all containers.', cell: () => '1/1' },
    {
      name: 'Status',
      type: 'string',
      description: 'The aggregate status of the containers.',
      cell: (o) => field(o, 'status', 'phase'),
    },
    { name: 'Restarts', type: 'string', description: 'The number of container restarts.', cell: () => '0' },
    age,
    {
      name: 'IP',
      type: 'string',
      priority: 1,
      description: 'Pod IP.',
      cell: (o) => field(o, 'status', 'podIP'),
    },
    {
      name: 'Node',
      type: 'string',
      priority: 1,
      description: 'Node name.',
      cell: (o) => field(o, 'spec', 'nodeName'),
    },
  ],
};

/** True when the client prefers a Table (kubectl's first Accept choice). */
export function wantsTable(accept: string | undefined): boolean {
  const first = (accept ?? '').split(',')[0];
  return /(^|;)\s*as=Table(;|$)/.test(first) && /(^|;)\s*g=meta\.k8s\.io(;|$)/.test(first);
}

export function includeObjectOf(query: URLSearchParams): IncludeObject {
  const value = query.get('includeObject') ?? 'Metadata';
  if (value !== 'None' && value !== 'Metadata' && value !== 'Object') {
    throw badRequest(
      `includeObject: Unsupported value: "${value}": supported values: "Metadata", "None", "Object"`,
    );
  }
  return value;
}

/** A Table of `objects`; `withColumns` false leaves out the definitions (watch events after the first). */
export function toTable(
  resource: string,
  objects: KubeObject[],
  listMetadata: Record<string, unknown>,
  include: IncludeObject,
  withColumns = true,
): Record<string, unknown> {
  const columns = COLUMNS[resource];
  const now = Date.now();
  const table: Record<string, unknown> = {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMetadata,
  };
  if (withColumns) {
    table.columnDefinitions = columns.map(({ cell: _cell, priority, ...column }) => ({
      format: '',
      ...column,
      priority: priority ?? 0,
    }));
  }
  table.rows = objects.map((object) => {
    const row: Record<string, unknown> = { cells: columns.map((column) => column.cell(object, now)) };
    if (include === 'Object') row.object = object;
    if (include === 'Metadata') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
    }
    return row;
  });
  return table;
}

function field(object: KubeObject, ...path: string[]): string {
  let value: unknown = object;
  for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'string' ? value : '<none>';
}

function nodeStatus(node: KubeObject): string {
  const status = isNodeReady(node) ? 'Ready' : 'NotReady';
  return (node.spec as { unschedulable?: boolean }).unschedulable ? `${status},SchedulingDisabled` : status;
}

function nodeRoles(node: KubeObject): string {
  const prefix = 'node-role.kubernetes.io/';
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((label) => label.startsWith(prefix))
    .map((label) => label.slice(prefix.length))
    .sort();
  return roles.length > 0 ? roles.join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const addresses = (node.status as { addresses: Array<{ type: string; address: string }> }).addresses;
  return addresses.find((address) => address.type === type)?.address ?? '<none>';
}

/** kubectl's AGE: seconds up to 2 minutes, then ever coarser units (`5m10s`, `3h`, `2d4h`, `1y`). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (days < 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
