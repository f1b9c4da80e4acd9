import { HttpStatus, Injectable } from '@nestjs/common';
import axios from 'axios';
import { parse } from 'yaml';
import { ProblemError } from '../common/problem';
import type { AddonChart } from './addon.types';

/** A Helm repository's `index.yaml` is read for at most this long... */
const TIMEOUT_MS = 5_000;
/** ...and this many bytes (large public repositories' indexes are a few MiB). */
const MAX_BYTES = 16 * 1024 * 1024;

const unprocessable = (code: string, detail: string, extensions: Record<string, unknown> = {}) =>
  new ProblemError(HttpStatus.UNPROCESSABLE_ENTITY, code, detail, extensions);

/**
 * Checks that a chart version exists before Paddock asks every cluster to download it: the
 * repository's `index.yaml` must list the chart at that version. Never trusts the input: only
 * http(s), a timeout, a size bound, no redirects to elsewhere, and a parse that tolerates garbage.
 */
@Injectable()
export class ChartIndex {
  async requireVersion(chart: AddonChart): Promise<void> {
    const url = new URL('index.yaml', chart.repo.endsWith('/') ? chart.repo : `${chart.repo}/`);
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
      index = parse(body, { maxAliasCount: 100 });
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
    const listed = versions.some((v) => (v as { version?: unknown } | null)?.version === chart.version);
    if (!listed)
      throw unprocessable(
        'CHART_VERSION_NOT_FOUND',
        `the repository lists no version ${chart.version} of '${chart.name}'`,
        { field: 'chart.version' },
      );
  }
}
