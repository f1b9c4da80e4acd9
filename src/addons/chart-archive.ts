import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { AddonChart } from './addon.types';

/**
 * A Helm chart archive turned into a Fleet Bundle's `spec.resources`, the way `fleet apply` embeds
 * a chart it downloaded (fleet `internal/bundlereader`): the archive unpacked, hidden files and
 * directories left out (`loaddirectory.go` `GetContent`), each file a resource named
 * `.chart/<sha256 of "chart:repo:version">/<path in the archive>` (`resources.go` `checksum`),
 * which is where the agent looks for the chart's `Chart.yaml` (`style.go` `DetermineStyle`: one or
 * two levels under that prefix). Text files are stored as they are, others (and every file once
 * the plain bundle would reach 1,000,000 bytes, `read.go` `loadBundle`) gzipped and base64-encoded
 * with encoding `base64+gz` (`content.Base64GZ`).
 */

export interface BundleResource {
  name: string;
  content: string;
  encoding?: 'base64+gz';
}

/** `fleet apply` compresses every resource once the plain bundle reaches this size (`loadBundle`). */
const COMPRESS_FROM_BYTES = 1_000_000;

export class ChartArchiveError extends Error {}

/**
 * The regular files of a gzipped tar, in archive order. Understands ustar names with prefixes,
 * PAX `path` records and GNU long names (Helm writes archives with Go's `archive/tar`). Refuses
 * an archive that unpacks past `maxBytes` or names a path outside itself.
 */
export function unpackChart(archive: Buffer, maxBytes: number): Array<[string, Buffer]> {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: maxBytes });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ChartArchiveError(
      code === 'ERR_BUFFER_TOO_LARGE'
        ? `the chart archive unpacks to more than ${maxBytes} bytes`
        : 'the chart archive is not gzip-compressed',
    );
  }
  const files: Array<[string, Buffer]> = [];
  let longName: string | undefined;
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = parseInt(field(header, 124, 12) || '0', 8);
    if (!Number.isFinite(size) || size < 0 || offset + 512 + size > tar.length)
      throw new ChartArchiveError('the chart archive is not a readable tar');
    const data = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    const type = String.fromCharCode(header[156] || 0x30);
    if (type === 'L') {
      longName = data.toString('utf8').replace(/\0.*$/s, '');
      continue;
    }
    if (type === 'x') {
      longName = paxPath(data) ?? longName;
      continue;
    }
    const prefix = header.subarray(257, 262).toString('latin1') === 'ustar' ? field(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    if (type !== '0' && type !== '\0') continue;
    const path = name.replace(/^\.\//, '');
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw new ChartArchiveError(`the chart archive names a path outside itself: ${path}`);
    files.push([path, data]);
  }
  if (files.length === 0) throw new ChartArchiveError('the chart archive holds no files');
  return files;
}

/** The Bundle resources of a chart's files, as `fleet apply` writes them (see above). */
export function bundleResources(chart: AddonChart, files: Array<[string, Buffer]>): BundleResource[] {
  const prefix = `.chart/${createHash('sha256').update(`${chart.name}:${chart.repo}:${chart.version}`).digest('hex')}`;
  const kept = files
    .filter(([path]) => !path.split('/').some((part) => part.startsWith('.')))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const encode = (compress: boolean): BundleResource[] =>
    kept.map(([path, data]) => {
      const name = `${prefix}/${path}`;
      const text = compress ? null : utf8(data);
      return text === null
        ? { name, content: gzipBase64(data), encoding: 'base64+gz' }
        : { name, content: text };
    });
  const plain = encode(false);
  return resourcesBytes(plain) < COMPRESS_FROM_BYTES ? plain : encode(true);
}

/** What the resources add to the Bundle object, as JSON. */
export function resourcesBytes(resources: BundleResource[]): number {
  return Buffer.byteLength(JSON.stringify(resources));
}

function field(header: Buffer, start: number, length: number): string {
  return header
    .subarray(start, start + length)
    .toString('utf8')
    .replace(/\0.*$/s, '')
    .trim();
}

/** The `path` of a PAX extended header (`<length> path=<value>\n` records). */
function paxPath(data: Buffer): string | undefined {
  const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
  return match?.[1];
}

function utf8(data: Buffer): string | null {
  const text = data.toString('utf8');
  return Buffer.from(text, 'utf8').equals(data) ? text : null;
}

function gzipBase64(data: Buffer): string {
  return gzipSync(data).toString('base64');
}
