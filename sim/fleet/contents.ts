/**
 * What a Bundle without a chart-download field deploys: its `spec.resources`. Fleet's bundle
 * controller stores them as a `Content` object named by the manifest ID the deployment IDs start
 * with (fleet `internal/cmd/controller/reconciler/bundle_controller.go` `Store`); the agent reads
 * that content back and decides what it is (`internal/bundlereader/style.go` `DetermineStyle`):
 * a Helm chart when a resource is `<helm.chart>/Chart.yaml`, or `Chart.yaml` one or two levels
 * under `.chart/<sha256(chart:repo:version)>/`, where `fleet apply` puts a downloaded chart
 * (`internal/bundlereader/resources.go` `checksum`); otherwise plain manifests.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { isPlainObject } from '../http';

export interface BundleResource {
  name?: string;
  content?: string;
  encoding?: string;
}

/** The chart a deployment installs, as its `Chart.yaml` says. */
export interface EmbeddedChart {
  name: string;
  version: string;
}

/** Contents by manifest ID, as Fleet's `Content` objects. */
export class BundleContents {
  private readonly byId = new Map<string, BundleResource[]>();

  store(manifestId: string, resources: unknown): void {
    if (Array.isArray(resources)) this.byId.set(manifestId, resources.filter(isPlainObject));
  }

  get(manifestId: string): BundleResource[] | undefined {
    return this.byId.get(manifestId);
  }
}

/**
 * `content.Decode` (fleet `internal/content`): plain text when `encoding` is empty, base64 for
 * `base64` and `base64+…`, then gunzipped for `…+gz`. Anything else cannot be read.
 */
export function decodeResource(resource: BundleResource): Buffer {
  const encoding = resource.encoding ?? '';
  const content = resource.content ?? '';
  if (encoding === '') return Buffer.from(content, 'utf8');
  if (encoding !== 'base64' && !encoding.startsWith('base64+'))
    throw new Error(`unsupported encoding ${encoding} of resource ${resource.name ?? ''}`);
  const data = Buffer.from(content, 'base64');
  return encoding.endsWith('+gz') ? gunzipSync(data) : data;
}

/** `.chart/<hex>`: where `fleet apply` puts a chart it downloaded for these coordinates. */
export function externalChartPrefix(helm: Record<string, unknown>): string {
  const key = `${String(helm.chart ?? '')}:${String(helm.repo ?? '')}:${String(helm.version ?? '')}`;
  return `.chart/${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * The chart among a deployment's resources for its (merged) options, null for plain manifests.
 * Throws, as the agent fails, when a resource cannot be decoded or the Chart.yaml is unreadable.
 */
export function embeddedChart(
  resources: BundleResource[],
  options: Record<string, unknown>,
): EmbeddedChart | null {
  const helm = isPlainObject(options.helm) ? options.helm : undefined;
  const own = `${String(helm?.chart || helm?.repo || '')}/Chart.yaml`.replace(/^\/+/, '');
  const external = helm ? `${externalChartPrefix(helm)}/` : '';
  const found = resources.find((r) => {
    const name = r.name ?? '';
    if (name === (helm ? own : 'Chart.yaml')) return true;
    if (!external || !name.startsWith(external)) return false;
    const parts = name.slice(external.length).split('/');
    return (
      (parts.length === 1 && parts[0] === 'Chart.yaml') || (parts.length === 2 && parts[1] === 'Chart.yaml')
    );
  });
  if (!found) return null;
  let chart: unknown;
  try {
    chart = parse(decodeResource(found).toString('utf8'));
  } catch (error) {
    throw new Error(`failed to read ${found.name ?? ''}: ${(error as Error).message}`);
  }
  if (!isPlainObject(chart) || typeof chart.name !== 'string')
    throw new Error(`${found.name ?? ''}: chart metadata (Chart.yaml) missing name`);
  return { name: chart.name, version: String(chart.version ?? '') };
}
