import { HttpStatus, Injectable } from '@nestjs/common';
import axios from 'axios';
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { ProblemError } from '../common/problem';
import type { AddonChart } from './addon.types';
import {
  bundleResources,
  ChartArchiveError,
  resourcesBytes,
  unpackChart,
  type BundleResource,
} from './chart-archive';

/** A Helm repository's `index.yaml` is read for at most this long... */
const TIMEOUT_MS = 5_000;
/** ...and this many bytes (large public repositories' indexes are a few MiB). */
const MAX_BYTES = 16 * 1024 * 1024;
/** A chart archive is downloaded for at most this long... */
const ARCHIVE_TIMEOUT_MS = 10_000;
/** ...this many bytes (a chart's `.tgz` is rarely above a few hundred KiB)... */
export const MAX_ARCHIVE_BYTES = 4 * 1024 * 1024;
/** ...and may unpack to at most this many. */
const MAX_UNPACKED_BYTES = 32 * 1024 * 1024;
/**
 * A Bundle that embeds a chart holds it in `spec.resources`, and Fleet copies them into a
 * `Content` object of the same size. etcd refuses an object above its request limit (1.5 MiB by
 * default), and the Bundle also carries the values and one target per cluster with values of its
 * own: the embedded chart may take at most this much of it.
 */
export const MAX_BUNDLE_RESOURCES_BYTES = 1_000_000;
/** Charts kept unpacked, per process (a version's archive does not change). */
const CACHED_CHARTS = 32;

const unprocessable = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemError(HttpStatus.UNPROCESSABLE_ENTITY, code, detail, extensions);

interface IndexEntry {
  version?: unknown;
  urls?: unknown;
  digest?: unknown;
}

/**
 * A chart version as its Helm repository serves it. Checks that the version exists before Paddock
 * asks every cluster to download it, and fetches the archive itself for the backends whose Fleet
 * cannot download charts (they get it embedded in a Bundle). Never trusts the input: only
 * http(s), timeouts, size bounds, the index's digest checked, and parses that tolerate garbage.
 */
@Injectable()
export class ChartIndex {
  private readonly cache = new Map<string, Promise<BundleResource[]>>();

  /**
   * 422 unless the repository lists the version and serves an archive that matches its digest
   * and unpacks; with `bundleBound`, also unless it fits in a Bundle.
   */
  async requireVersion(chart: AddonChart, bundleBound = false): Promise<void> {
    const resources = await this.load(chart);
    if (bundleBound) this.requireFits(chart, resources);
  }

  /** The chart as a Bundle's `spec.resources`: 422-coded ProblemErrors as `requireVersion`. */
  async bundleResources(chart: AddonChart): Promise<BundleResource[]> {
    const resources = await this.load(chart);
    this.requireFits(chart, resources);
    return resources;
  }

  private requireFits(chart: AddonChart, resources: BundleResource[]): void {
    const bytes = resourcesBytes(resources);
    if (bytes > MAX_BUNDLE_RESOURCES_BYTES)
      throw unprocessable(
        'CHART_TOO_LARGE',
        `${chart.name} ${chart.version} embeds to ${bytes} bytes in a Fleet Bundle, over the ${MAX_BUNDLE_RESOURCES_BYTES}-byte bound`,
        { field: 'chart.version' },
      );
  }

  private load(chart: AddonChart): Promise<BundleResource[]> {
    const key = JSON.stringify([chart.repo, chart.name, chart.version]);
    let loaded = this.cache.get(key);
    if (!loaded) {
      loaded = this.fetch(chart);
      loaded.catch(() => this.cache.delete(key));
      this.cache.set(key, loaded);
      if (this.cache.size > CACHED_CHARTS) this.cache.delete(this.cache.keys().next().value as string);
    }
    return loaded;
  }

  private async fetch(chart: AddonChart): Promise<BundleResource[]> {
    const entry = await this.indexEntry(chart);
    const urls = Array.isArray(entry.urls) ? entry.urls : [];
    if (typeof urls[0] !== 'string' || urls[0] === '')
      throw unprocessable(
        'CHART_ARCHIVE_UNREADABLE',
        `the repository lists no URL for ${chart.name} ${chart.version}`,
        {
          field: 'chart.version',
        },
      );
    // Relative to the repository's URL, as Helm resolves it (`repo.ResolveReferenceURL`).
    let url: URL;
    try {
      url = new URL(urls[0], withSlash(chart.repo));
    } catch {
      url = new URL('invalid:');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw unprocessable('CHART_ARCHIVE_UNREADABLE', `the chart's URL ${urls[0]} is not an http(s) URL`, {
        field: 'chart.version',
      });
    const archive = await this.download(url);
    if (typeof entry.digest === 'string' && entry.digest !== '') {
      const actual = createHash('sha256').update(archive).digest('hex');
      if (actual !== entry.digest.toLowerCase())
        throw unprocessable(
          'CHART_DIGEST_MISMATCH',
          `${url.toString()} has sha256 ${actual}, the repository's index says ${entry.digest}`,
          { field: 'chart.version' },
        );
    }
    try {
      return bundleResources(chart, unpackChart(archive, MAX_UNPACKED_BYTES));
    } catch (error) {
      if (!(error instanceof ChartArchiveError)) throw error;
      throw unprocessable('CHART_ARCHIVE_UNREADABLE', `${url.toString()}: ${error.message}`, {
        field: 'chart.version',
      });
    }
  }

  private async download(url: URL): Promise<Buffer> {
    try {
      const res = await axios.get<ArrayBuffer>(url.toString(), {
        timeout: ARCHIVE_TIMEOUT_MS,
        signal: AbortSignal.timeout(ARCHIVE_TIMEOUT_MS),
        maxContentLength: MAX_ARCHIVE_BYTES,
        // Chart hosts commonly redirect to a CDN (follow-redirects follows http(s) only).
        maxRedirects: 5,
        responseType: 'arraybuffer',
        validateStatus: () => true,
      });
      if (res.status !== 200)
        throw unprocessable('CHART_ARCHIVE_UNREADABLE', `${url.toString()} answered HTTP ${res.status}`, {
          field: 'chart.version',
        });
      return Buffer.from(res.data);
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      const tooLarge = axios.isAxiosError(error) && /maxContentLength/.test(error.message);
      const reason = tooLarge
        ? `larger than ${MAX_ARCHIVE_BYTES} bytes`
        : axios.isAxiosError(error)
          ? (error.code ?? error.message)
          : 'download failed';
      throw unprocessable(
        'CHART_ARCHIVE_UNREADABLE',
        `${url.toString()} could not be downloaded: ${reason}`,
        {
          field: 'chart.version',
        },
      );
    }
  }

  private async indexEntry(chart: AddonChart): Promise<IndexEntry> {
    const url = new URL('index.yaml', withSlash(chart.repo));
    let body: string;
    try {
      const res = await axios.get<string>(url.toString(), {
        timeout: TIMEOUT_MS,
        signal: AbortSignal.timeout(TIMEOUT_MS),
        maxContentLength: MAX_BYTES,
        maxRedirects: 0,
        responseType: 'text',
        transformResponse: (data: unknown) => data,
        validateStatus: () => true,
      });
      if (res.status !== 200)
        throw unprocessable('CHART_REPO_UNREADABLE', `${url.toString()} answered HTTP ${res.status}`, {
          field: 'chart.repo',
        });
      body = typeof res.data === 'string' ? res.data : '';
    } catch (error) {
      if (error instanceof ProblemError) throw error;
      const reason = axios.isAxiosError(error) ? (error.code ?? error.message) : 'read failed';
      throw unprocessable('CHART_REPO_UNREADABLE', `${url.toString()} could not be read: ${reason}`, {
        field: 'chart.repo',
      });
    }
    let index: unknown;
    try {
      // Every scalar a string: an unquoted digest of digits only must not turn into a number.
      index = parse(body, { maxAliasCount: 100, schema: 'failsafe' });
    } catch {
      index = null;
    }
    const entries = (index as { entries?: Record<string, unknown> } | null)?.entries;
    if (typeof entries !== 'object' || entries === null)
      throw unprocessable('CHART_REPO_UNREADABLE', `${url.toString()} is not a Helm repository index`, {
        field: 'chart.repo',
      });
    const versions = Array.isArray(entries[chart.name]) ? (entries[chart.name] as unknown[]) : null;
    if (!versions)
      throw unprocessable('CHART_NOT_FOUND', `the repository lists no chart '${chart.name}'`, {
        field: 'chart.name',
      });
    const entry = versions.find(
      (v): v is IndexEntry =>
        typeof v === 'object' && v !== null && (v as IndexEntry).version === chart.version,
    );
    if (!entry)
      throw unprocessable(
        'CHART_VERSION_NOT_FOUND',
        `the repository lists no version ${chart.version} of '${chart.name}'`,
        { field: 'chart.version' },
      );
    return entry;
  }
}

const withSlash = (repo: string) => (repo.endsWith('/') ? repo : `${repo}/`);
