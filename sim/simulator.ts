import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { isAuthenticated } from './auth';
import { handleControl } from './control';
import { handleCharts } from './fleet/charts';
import { CallLog, faultResponse, FaultRegistry } from './faults';
import { ApiError, errorResponse, UNAUTHORIZED_BODY, unauthorized, type SimResponse } from './http';
import { NAME_ALPHABET } from './ids';
import type { RequestContext } from './resources/resource-type';
import type { KubeRequest } from './kube/api';
import { handleClusterProxy } from './kube/proxy';
import { handleV3 } from './router';
import { handleSteve } from './steve/api';
import { DEFAULT_K3S_VERSIONS, DEFAULT_RKE2_VERSIONS, releaseObject, servesRke1 } from './version';
import { closeS3Clients } from './s3';
import { s3Preflight } from './s3-preflight';
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
  /**
   * Reported by `/v3/settings/server-version` and `/rancherversion`; default v2.11.3. From v2.12 on
   * the RKE1 schemas are gone and `/v3` RKE1 clusters never provision (rancher-212.md §1).
   */
  version?: string;
  profile?: TimingProfile;
  timings?: Partial<SimulatorTimings>;
  /** Node templates created at start, as an operator would (driver default `openstack`). */
  nodeTemplates?: Array<{ name: string; driver?: string }>;
  /** Supported RKE1 versions; the first is the `k8s-version` default. */
  kubernetesVersions?: string[];
  /** RKE2 releases the channel server lists (`v1.31.9+rke2r1`); the first is `rke2-default-version`. */
  rke2Versions?: string[];
  /** K3s releases (`v1.31.9+k3s1`); the first is `k3s-default-version`. */
  k3sVersions?: string[];
  /**
   * Rancher's `fleet` feature (default on). Off, Rancher installs no Fleet charts, so steve serves
   * no `fleet.cattle.io` type at all.
   */
  fleet?: boolean;
  /**
   * Also serve HTTPS on a second port (`secureUrl`) with this PEM key and certificate. kubectl
   * sends no credentials to a plain-HTTP server, so it needs this to reach `/k8s/clusters/…`.
   */
  tls?: { key: string | Buffer; cert: string | Buffer; port?: number };
}

export interface RunningSimulator {
  url: string;
  port: number;
  /** `https://…` of the TLS listener, when `options.tls` was given. */
  secureUrl?: string;
  token: string;
  /** The Rancher version it behaves as (`v2.11.3`, `v2.12.3`, …). */
  version: string;
  /** The node templates created from `options.nodeTemplates`, with their generated ids (none from v2.12 on). */
  nodeTemplates: Array<{ name: string; driver: string; id: string }>;
  /** One cloud credential for OpenStack and each other driver of `options.nodeTemplates` (`cattle-global-data:cc-xxxxx`). */
  cloudCredentials: Array<{ name: string; driver: string; id: string }>;
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

/** What `/rancherversion` reports as the build's commit. */
const SIM_GIT_COMMIT = '0000000';
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
    rke2Versions: options.rke2Versions?.length ? options.rke2Versions : DEFAULT_RKE2_VERSIONS,
    k3sVersions: options.k3sVersions?.length ? options.k3sVersions : DEFAULT_K3S_VERSIONS,
    timings: resolveTimings(options.profile, options.timings),
    token,
    fleet: options.fleet ?? true,
  });
  const faults = new FaultRegistry();
  const calls = new CallLog();

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(world, faults, calls, req, { res }).catch((error: unknown) => {
      if (!res.headersSent)
        send(req, { res }, errorResponse(new ApiError(500, 'ServerError', String(error))), false, '');
      else res.destroy();
    });
  };
  // Upgraded connections (exec) are no longer the HTTP server's to close.
  const upgraded = new Set<Duplex>();
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
    handle(world, faults, calls, req, { socket, head }).catch(() => socket.destroy());
  };
  const servers: Server[] = [createServer(onRequest)];
  if (options.tls) servers.push(createTlsServer({ key: options.tls.key, cert: options.tls.cert }, onRequest));
  for (const server of servers) server.on('upgrade', onUpgrade);
  const reachableHost =
    host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const port = await listen(servers[0], options.port ?? 0, host);
  const url = `http://${reachableHost}:${port}`;
  const secureUrl = options.tls
    ? `https://${reachableHost}:${await listen(servers[1], options.tls.port ?? 0, host)}`
    : undefined;
  world.serverUrl = url;
  world.settings.install();

  // From 2.12 on there are no node templates; the drivers still get their machine-config types.
  const nodeTemplates = (options.nodeTemplates ?? []).flatMap(({ name, driver = 'openstack' }) => {
    world.steve.addDriver(driver);
    if (!servesRke1(world.rancher)) return [];
    const template = world.nodeTemplates.create({ name, [`${driver}Config`]: {} }, { baseUrl: url });
    return [{ name, driver, id: template.id }];
  });
  // The operator made a credential for each driver in use (its machines are created with one;
  // rke2 backends name it at registration), on every version: OpenStack, the seeds' driver, always.
  const drivers = [
    ...new Set(['openstack', ...(options.nodeTemplates ?? []).map(({ driver = 'openstack' }) => driver)]),
  ];
  const cloudCredentials = drivers.map((driver) => {
    const credential = world.cloudCredentials.create(
      { name: driver, [`${driver}credentialConfig`]: {} },
      { baseUrl: url },
    );
    return { name: driver, driver, id: credential.id };
  });

  return {
    url,
    port,
    ...(secureUrl ? { secureUrl } : {}),
    token,
    version: world.version,
    nodeTemplates,
    cloudCredentials,
    close: async () => {
      world.close();
      closeS3Clients();
      for (const socket of upgraded) socket.destroy();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Where the answer goes: a normal response, or the raw socket of an upgrade request. */
type Connection = { res: ServerResponse } | { socket: Duplex; head: Buffer };

async function handle(
  world: World,
  faults: FaultRegistry,
  calls: CallLog,
  req: IncomingMessage,
  connection: Connection,
): Promise<void> {
  const at = new Date().toISOString();
  const method = (req.method ?? 'GET').toUpperCase();
  const target = new URL(req.url ?? '/', 'http://simulator');
  const path = target.pathname;
  // An upgrade request's body, if any, belongs to the new protocol.
  const body = 'res' in connection ? await readBody(req) : '';
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const ctx: RequestContext = { baseUrl: `${scheme}://${req.headers.host ?? new URL(world.serverUrl).host}` };
  const authenticated = isAuthenticated(req.headers.authorization, world.tokens);

  if (path === '/__sim' || path.startsWith('/__sim/')) {
    const response = authenticated
      ? handleControl(world, faults, calls, method, path, body, ctx)
      : unauthorized();
    send(req, connection, response, false, ctx.baseUrl);
    return;
  }

  const fault = faults.take(method, path);
  if (fault?.delayMs) {
    const completed = await world.scheduler.sleep(fault.delayMs);
    if (!completed) {
      destroy(connection);
      return;
    }
  }
  let response: SimResponse;
  if (fault?.status !== undefined) response = faultResponse(fault, path);
  else {
    const request = {
      method,
      path,
      query: target.searchParams,
      body,
      headers: req.headers,
      upgrade: !('res' in connection),
    };
    // A cluster's S3 bucket is checked before the store writes anything, over the network.
    const refused =
      authenticated && isV3(path) ? await s3Preflight(world, method, path, target.searchParams, body) : null;
    response = refused ?? route(world, request, authenticated, ctx);
  }

  const dropped = fault?.dropResponse === true;
  const query = target.search.slice(1);
  calls.record({
    method,
    path,
    ...(query ? { query } : {}),
    status: response.status,
    at,
    ...(dropped ? { dropped: true as const } : {}),
  });
  if (dropped) {
    // The request was applied; the client just never hears about it.
    destroy(connection);
    return;
  }
  send(req, connection, response, isV3(path) && response.body !== UNAUTHORIZED_BODY, ctx.baseUrl);
}

function route(world: World, request: KubeRequest, authenticated: boolean, ctx: RequestContext): SimResponse {
  const { path } = request;
  if (path === '/ping') return { status: 200, body: 'pong' };
  // Unauthenticated routes of `routes.go` (rancher-212.md §1.5, §1.6).
  if (path === '/rancherversion') return rancherVersion(world);
  // The simulator's own Helm repository, open like any public chart repository (design.md "Addons").
  if (path === '/charts' || path.startsWith('/charts/'))
    return handleCharts(request.method, path, ctx.baseUrl);
  const release = /^\/v1-(rke2|k3s)-release\/releases\/?$/.exec(path);
  if (release) return releases(world, release[1] as 'rke2' | 'k3s', ctx);
  const isProxy = path.startsWith('/k8s/clusters/');
  const isSteve = path === '/v1' || path.startsWith('/v1/');
  if (!isV3(path) && !isProxy && !isSteve) return errorResponse(new ApiError(404, 'NotFound', 'Not Found'));
  if (!authenticated) return unauthorized();
  if (isProxy) return handleClusterProxy(world, request);
  if (isSteve) return handleSteve(world, request, ctx);
  return handleV3(world, request, ctx);
}

function rancherVersion(world: World): SimResponse {
  return { status: 200, body: { Version: world.version, GitCommit: SIM_GIT_COMMIT, RancherPrime: 'false' } };
}

/** The embedded channel server's release list, as an apiserver collection (rancher-212.md §1.6). */
function releases(world: World, distro: 'rke2' | 'k3s', ctx: RequestContext): SimResponse {
  const versions = distro === 'rke2' ? world.rke2Versions : world.k3sVersions;
  return {
    status: 200,
    body: {
      type: 'collection',
      links: { self: `${ctx.baseUrl}/v1-${distro}-release/releases` },
      actions: {},
      resourceType: 'release',
      data: versions.map((version) => releaseObject(version, world.rancher)),
    },
  };
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

function send(
  req: IncomingMessage,
  connection: Connection,
  response: SimResponse,
  v3Headers: boolean,
  baseUrl: string,
): void {
  if ('socket' in connection) {
    if (response.upgrade) return response.upgrade(req, connection.socket, connection.head);
    // Refused before any protocol switch: a plain HTTP answer on the raw socket, then close.
    const { headers, payload } = serialize(response, v3Headers, baseUrl);
    let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n`;
    for (const [name, value] of Object.entries({ ...headers, Connection: 'close' }))
      head += `${name}: ${value}\r\n`;
    connection.socket.end(`${head}\r\n${payload}`);
    return;
  }
  const { res } = connection;
  if (response.stream) {
    res.writeHead(response.status, { 'Content-Type': 'application/json', ...response.headers });
    response.stream(res);
    return;
  }
  const { headers, payload } = serialize(response, v3Headers, baseUrl);
  res.writeHead(response.status, headers);
  res.end(payload);
}

function destroy(connection: Connection): void {
  if ('socket' in connection) connection.socket.destroy();
  else connection.res.socket?.destroy();
}

function serialize(
  response: SimResponse,
  v3Headers: boolean,
  baseUrl: string,
): { headers: Record<string, string>; payload: string | Buffer } {
  const headers: Record<string, string> = { ...response.headers };
  let payload: string | Buffer;
  if (Buffer.isBuffer(response.body)) {
    // Binary answers (chart archives) name their own type.
    headers['Content-Type'] ??= 'application/octet-stream';
    payload = response.body;
  } else if (typeof response.body === 'string') {
    // Text answers are plain text unless they name a type (the chart repository's YAML).
    headers['Content-Type'] ??= 'text/plain; charset=utf-8';
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
  return { headers, payload };
}
