/**
 * The simulator's built-in Helm repository at `<sim url>/charts` (design.md "Addons"): an
 * `index.yaml` in Helm's repository format and a small, valid chart archive per listed version.
 * Every chart lists a version with the pre-release `-fail`, which fails on every cluster it reaches.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SimResponse } from '../http';
import { toYaml } from '../yaml';

interface ChartInfo {
  name: string;
  description: string;
  versions: Array<{ version: string; appVersion: string }>;
}

export const CHARTS: readonly ChartInfo[] = [
  {
    name: 'ingress-nginx',
    description: 'Ingress controller for Kubernetes using NGINX as a reverse proxy and load balancer',
    versions: [
      { version: '4.10.1', appVersion: '1.10.1' },
      { version: '4.11.3', appVersion: '1.11.3' },
      { version: '4.12.0', appVersion: '1.12.0' },
      { version: '4.12.1', appVersion: '1.12.1' },
      { version: '4.13.0-fail', appVersion: '1.13.0' },
    ],
  },
  {
    name: 'cinder-csi',
    description: 'Cinder CSI Chart for OpenStack',
    versions: [
      { version: '2.30.0', appVersion: 'v1.30.0' },
      { version: '2.31.0', appVersion: 'v1.31.0' },
      { version: '2.31.2', appVersion: 'v1.31.2' },
      { version: '2.32.0-fail', appVersion: 'v1.32.0' },
    ],
  },
  {
    name: 'service-operator',
    description: 'Operator for L4 load balancer services',
    versions: [
      { version: '1.0.0', appVersion: '1.0.0' },
      { version: '1.1.0', appVersion: '1.1.0' },
      { version: '1.2.0', appVersion: '1.2.0' },
      { version: '1.2.0-fail', appVersion: '1.2.0' },
    ],
  },
];

/** A fixed creation time, so the index and archive digests never change between runs. */
const CREATED = '2026-01-15T10:00:00Z';

/** Semver 2.0 (as Helm requires of chart versions), with an optional leading `v` rejected. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

export function isSemver(version: string): boolean {
  return SEMVER.test(version);
}

/** The chart version fails on every cluster: its pre-release is `fail` (design.md "Addons"). */
export function isFailingVersion(version: string): boolean {
  const match = SEMVER.exec(version);
  return match?.[4] === 'fail';
}

export function findChart(name: string, version: string): boolean {
  return CHARTS.some((chart) => chart.name === name && chart.versions.some((v) => v.version === version));
}

/** The highest version of `name` without a pre-release (what `version: ""` or `*` resolves to). */
export function latestVersion(name: string): string | undefined {
  const chart = CHARTS.find((c) => c.name === name);
  const stable = (chart?.versions ?? []).map((v) => v.version).filter((v) => !v.includes('-'));
  return stable.sort(compareSemver).at(-1);
}

function compareSemver(a: string, b: string): number {
  const [x, y] = [a, b].map((v) => v.split(/[-+]/)[0].split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** `GET /charts/index.yaml` and `GET /charts/<name>-<version>.tgz`; no authentication. */
export function handleCharts(method: string, path: string, baseUrl: string): SimResponse {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405, body: 'method not allowed\n' };
  const rest = path.replace(/^\/charts\/?/, '');
  if (rest === 'index.yaml' || rest === '') {
    return {
      status: 200,
      body: indexYaml(baseUrl),
      headers: { 'Content-Type': 'application/x-yaml' },
    };
  }
  for (const chart of CHARTS) {
    for (const { version } of chart.versions) {
      if (rest !== `${chart.name}-${version}.tgz`) continue;
      return { status: 200, body: archive(chart, version), headers: { 'Content-Type': 'application/gzip' } };
    }
  }
  return { status: 404, body: '404 page not found\n' };
}

export function indexYaml(baseUrl: string): string {
  const entries: Record<string, unknown[]> = {};
  for (const chart of CHARTS) {
    // Helm sorts each chart's entries newest first.
    entries[chart.name] = [...chart.versions].reverse().map(({ version, appVersion }) => ({
      apiVersion: 'v2',
      name: chart.name,
      version,
      appVersion,
      description: chart.description,
      type: 'application',
      created: CREATED,
      digest: createHash('sha256').update(archive(chart, version)).digest('hex'),
      urls: [`${baseUrl}/charts/${chart.name}-${version}.tgz`],
    }));
  }
  return toYaml({ apiVersion: 'v1', entries, generated: CREATED });
}

const archives = new Map<string, Buffer>();

/** A gzipped tar of `<name>/Chart.yaml`, `<name>/values.yaml` and one template: a chart Helm can read. */
function archive(chart: ChartInfo, version: string): Buffer {
  const key = `${chart.name}-${version}`;
  const cached = archives.get(key);
  if (cached) return cached;
  const appVersion = chart.versions.find((v) => v.version === version)?.appVersion ?? version;
  const files: Array<[string, string]> = [
    [
      `${chart.name}/Chart.yaml`,
      toYaml({
        apiVersion: 'v2',
        name: chart.name,
        version,
        appVersion,
        description: chart.description,
        type: 'application',
      }),
    ],
    [`${chart.name}/values.yaml`, 'replicaCount: 1\n'],
    [
      `${chart.name}/templates/configmap.yaml`,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: "{{ .Values.replicaCount }}"\n',
    ],
  ];
  const out = tarGz(files);
  archives.set(key, out);
  return out;
}

/**
 * A gzipped ustar archive of regular files (mode 0644, fixed mtime): a chart archive as `helm
 * package` writes one. gzip's header holds no time when none is given, so the bytes (and the
 * digest) are stable.
 */
export function tarGz(files: Array<[string, string | Buffer]>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, content] of files) {
    const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    blocks.push(tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

/** A ustar header for a regular file, mode 0644, fixed mtime. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 8, 'ascii');
  header.write('0000000\0', 108, 8, 'ascii');
  header.write('0000000\0', 116, 8, 'ascii');
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'ascii');
  header.write(
    `${Math.floor(Date.parse(CREATED) / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
    12,
    'ascii',
  );
  header.write('        ', 148, 8, 'ascii');
  header.write('0', 156, 1, 'ascii');
  header.write('ustar\0', 257, 6, 'ascii');
  header.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return header;
}
