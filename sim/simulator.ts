import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isAuthenticated } from './auth';
import { handleControl } from './control';
import { CallLog, faultResponse, FaultRegistry } from './faults';
import { ApiError, errorResponse, UNAUTHORIZED_BODY, unauthorized, type SimResponse } from './http';
import { NAME_ALPHABET } from './ids';
import type { RequestContext } from './resources/resource-type';
import { handleClusterProxy, handleV3 } from './router';
import { resolveTimings, type SimulatorTimings, type TimingProfile } from './timings';
import { World } from './world';

export type { SimulatorTimings } from './timings';

export interface SimulatorOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Accepted bearer value `token-xxxxx:<secret>`; defaults to a fixed development token. */
  token?: string;
  /** Reported by `/v3/settings/server-version`; default v2.11.3. */
  version?: string;
  profile?: TimingProfile;
  timings?: Partial<SimulatorTimings>;
  /** Node templates created at start, as an operator would (driver default `openstack`). */
  nodeTemplates?: Array<{ name: string; driver?: string }>;
  /** Supported RKE1 versions; the first is the `k8s-version` default. */
  kubernetesVersions?: string[];
}

export interface RunningSimulator {
  url: string;
  port: number;
  token: string;
  /** The node templates created from `options.nodeTemplates`, with their generated ids. */
  nodeTemplates: Array<{ name: string; driver: string; id: string }>;
  close(): Promise<void>;
}

/** A deterministic token of the real shape (§1.1): `token-` + 5 chars, `:`, 54-char secret. */
export const DEFAULT_TOKEN = `token-sim00:${Array.from({ length: 54 }, (_, i) => NAME_ALPHABET[(i * 7 + 3) % NAME_ALPHABET.length]).join('')}`;
export const DEFAULT_VERSION = 'v2.11.3';
export const DEFAULT_KUBERNETES_VERSIONS = [
  'v1.31.9-rancher1-1',
  'v1.30.14-rancher1-1',
  'v1.32.5-rancher1-1',
];

const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Headers norman's writer puts on every `/v3` answer (§2.5). */
const EXPIRES = 'Wed 24 Feb 1982 18:42:00 GMT';

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const token = options.token ?? DEFAULT_TOKEN;
  const host = options.host ?? '127.0.0.1';
  const world = new World({
    version: options.version ?? DEFAULT_VERSION,
    kubernetesVersions: options.kubernetesVersions?.length
      ? options.kubernetesVersions
      : DEFAULT_KUBERNETES_VERSIONS,
    timings: resolveTimings(options.profile, options.timings),
    token,
  });
  const faults = new FaultRegistry();
  const calls = new CallLog();

  const server = createServer((req, res) => {
    handle(world, faults, calls, req, res).catch((error: unknown) => {
      if (!res.headersSent)
        write(res, errorResponse(new ApiError(500, 'ServerError', String(error))), false, '');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const reachableHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${reachableHost}:${port}`;
  world.serverUrl = url;
  world.settings.install();

  const nodeTemplates = (options.nodeTemplates ?? []).map(({ name, driver = 'openstack' }) => {
    const template = world.nodeTemplates.create({ name, [`${driver}Config`]: {} }, { baseUrl: url });
    return { name, driver, id: template.id };
  });

  return {
    url,
    port,
    token,
    nodeTemplates,
    close: () =>
      new Promise<void>((resolve) => {
        world.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  world: World,
  faults: FaultRegistry,
  calls: CallLog,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const at = new Date().toISOString();
  const method = (req.method ?? 'GET').toUpperCase();
  const target = new URL(req.url ?? '/', 'http://simulator');
  const path = target.pathname;
  const body = await readBody(req);
  const ctx: RequestContext = { baseUrl: `http://${req.headers.host ?? new URL(world.serverUrl).host}` };
  const authenticated = isAuthenticated(req.headers.authorization, world.tokens);

  if (path === '/__sim' || path.startsWith('/__sim/')) {
    const response = authenticated
      ? handleControl(world, faults, calls, method, path, body, ctx)
      : unauthorized();
    write(res, response, false, ctx.baseUrl);
    return;
  }

  const fault = faults.take(method, path);
  if (fault?.delayMs) {
    const completed = await world.scheduler.sleep(fault.delayMs);
    if (!completed) {
      res.destroy();
      return;
    }
  }
  let response: SimResponse;
  if (fault?.status !== undefined) response = faultResponse(fault);
  else response = route(world, method, path, target.searchParams, body, authenticated, ctx);

  const dropped = fault?.dropResponse === true;
  calls.record({ method, path, status: response.status, at, ...(dropped ? { dropped: true as const } : {}) });
  if (dropped) {
    // The request was applied; the client just never hears about it.
    res.socket?.destroy();
    return;
  }
  write(res, response, isV3(path) && response.body !== UNAUTHORIZED_BODY, ctx.baseUrl);
}

function route(
  world: World,
  method: string,
  path: string,
  query: URLSearchParams,
  body: string,
  authenticated: boolean,
  ctx: RequestContext,
): SimResponse {
  if (path === '/ping') return { status: 200, body: 'pong' };
  const isProxy = path.startsWith('/k8s/clusters/');
  if (!isV3(path) && !isProxy) return errorResponse(new ApiError(404, 'NotFound', 'Not Found'));
  if (!authenticated) return unauthorized();
  if (isProxy) return handleClusterProxy(world, path);
  return handleV3(world, { method, path, query, body }, ctx);
}

function isV3(path: string): boolean {
  return path === '/v3' || path.startsWith('/v3/');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function write(res: ServerResponse, response: SimResponse, v3Headers: boolean, baseUrl: string): void {
  const headers: Record<string, string> = { ...response.headers };
  let payload: string;
  if (typeof response.body === 'string') {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    payload = response.body;
  } else {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(response.body);
  }
  if (v3Headers) {
    headers['X-Api-Schemas'] = `${baseUrl}/v3/schemas`;
    headers.Expires = EXPIRES;
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(payload);
}
