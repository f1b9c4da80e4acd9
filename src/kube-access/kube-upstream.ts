import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { KubernetesApiEndpoint } from '../rancher-backends/kubernetes-api';
import { KubeProblem } from './kube-status';

export interface UpstreamTimeouts {
  /** To get a TCP (and TLS) connection to the backend. */
  connectTimeoutMs: number;
  /** From the request sent to the response's headers (a watch sends its headers at once). */
  responseTimeoutMs: number;
}

/** Request headers never forwarded: the caller's credentials and anything the backend would trust. */
const STRIPPED_REQUEST_HEADER =
  /^(authorization|proxy-authorization|cookie|forwarded|x-forwarded-.*|x-real-ip|x-remote-.*|x-api-.*|impersonate-.*)$/;
/** Response headers never returned: Rancher's session cookies and its own API headers. */
const STRIPPED_RESPONSE_HEADER = /^(set-cookie|x-api-.*|www-authenticate)$/;
/** Bodies in these types are Kubernetes' own (a `Status` on errors), safe and useful to relay. */
const KUBERNETES_BODY = /^application\/(json|yaml|vnd\.kubernetes\.[a-z.+-]+)\s*(;|$)/i;

const CONNECT_TIMEOUT = 'PADDOCK_CONNECT_TIMEOUT';
const RESPONSE_TIMEOUT = 'PADDOCK_RESPONSE_TIMEOUT';

const timeoutError = (code: string, message: string) => Object.assign(new Error(message), { code });

/** Writes a `Status` answer on a response that has not started yet. */
export function sendStatus(res: http.ServerResponse, problem: KubeProblem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(problem.body());
  res.writeHead(problem.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...problem.headers,
  });
  res.end(body);
}

/** Writes a `Status` answer on a raw socket whose upgrade is refused, then closes it. */
export function refuseUpgrade(socket: Duplex, problem: KubeProblem): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(problem.body());
  const extra = Object.entries(problem.headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(
    `HTTP/1.1 ${problem.status} ${http.STATUS_CODES[problem.status] ?? 'Error'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `cache-control: no-store\r\nconnection: close\r\n${extra.join('')}\r\n${body}`,
  );
}

/** Removes the caller's credentials and proxy-trust headers before the request goes upstream. */
export function stripRequestHeaders(req: http.IncomingMessage): void {
  for (const name of Object.keys(req.headers)) {
    if (STRIPPED_REQUEST_HEADER.test(name)) delete req.headers[name];
  }
}

/**
 * A transport error in Paddock's words, never with the backend's address. A refused or reset
 * connection is a 502; a backend that does not connect or answer in time is a 504.
 */
export function upstreamFailure(error: NodeJS.ErrnoException, timeouts: UpstreamTimeouts): KubeProblem {
  if (error.code === CONNECT_TIMEOUT)
    return new KubeProblem(
      504,
      'BACKEND_TIMEOUT',
      `the cluster's backend did not accept a connection within ${timeouts.connectTimeoutMs} ms`,
    );
  if (error.code === RESPONSE_TIMEOUT)
    return new KubeProblem(
      504,
      'BACKEND_TIMEOUT',
      `the cluster's backend did not answer within ${timeouts.responseTimeoutMs} ms`,
    );
  return new KubeProblem(502, 'BACKEND_UNREACHABLE', "the cluster's backend could not be reached; try again");
}

/**
 * What to answer instead of an upstream error that is not Kubernetes' own. A 401 means the
 * backend refused *Paddock's* token, not the caller's: a 502, so kubectl does not ask the user
 * to log in again. Rancher's own error bodies (plain text, or JSON-encoded Go structs without a
 * content type) can name Rancher ids (`stv-cluster-c-…`): they are replaced, keeping the status.
 */
export function replacementFor(status: number, contentType: string | undefined): KubeProblem | null {
  if (status === 401)
    return new KubeProblem(
      502,
      'BACKEND_UNAUTHORIZED',
      "the cluster's backend refused Paddock's credentials; an administrator must check the backend's token",
    );
  if (status < 400 || KUBERNETES_BODY.test(contentType ?? '')) return null;
  if (status === 503)
    return new KubeProblem(
      503,
      'CLUSTER_UNAVAILABLE',
      "the cluster's Kubernetes API is not available right now (the cluster may not be active yet); try again later",
    );
  if (status === 404)
    return new KubeProblem(404, 'NOT_FOUND', "the cluster's backend does not know this cluster");
  if (status === 504)
    return new KubeProblem(504, 'BACKEND_TIMEOUT', "the cluster's Kubernetes API did not answer in time");
  return new KubeProblem(
    status >= 500 ? status : 502,
    'BACKEND_ERROR',
    `the cluster's backend answered ${status}`,
  );
}

/**
 * Arms the connect timeout on a fresh socket (a reused keep-alive socket is already connected),
 * and the response timeout once the request has been sent. Both end in an error on `proxyReq`,
 * which the proxy's error callback turns into a 504.
 */
export function armTimeouts(proxyReq: http.ClientRequest, socket: Duplex, timeouts: UpstreamTimeouts): void {
  const connecting = (socket as Duplex & { connecting?: boolean }).connecting === true;
  if (connecting) {
    const timer = setTimeout(
      () => proxyReq.destroy(timeoutError(CONNECT_TIMEOUT, 'connect timeout')),
      timeouts.connectTimeoutMs,
    );
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  }
  let responseTimer: NodeJS.Timeout | undefined;
  const stop = () => clearTimeout(responseTimer);
  proxyReq.once('finish', () => {
    responseTimer = setTimeout(
      () => proxyReq.destroy(timeoutError(RESPONSE_TIMEOUT, 'response timeout')),
      timeouts.responseTimeoutMs,
    );
  });
  proxyReq.once('response', stop);
  proxyReq.once('upgrade', stop);
  proxyReq.once('close', stop);
}

/** Removes response headers that belong to Rancher rather than to Kubernetes. */
export function stripResponseHeaders(
  headers: http.IncomingHttpHeaders,
  upstreamPrefix: string,
  publicPrefix: string,
): void {
  for (const name of Object.keys(headers)) {
    if (STRIPPED_RESPONSE_HEADER.test(name)) delete headers[name];
  }
  const location = headers.location;
  if (typeof location === 'string') {
    const path = location.replace(/^https?:\/\/[^/]+/i, '');
    headers.location = path.startsWith(upstreamPrefix)
      ? `${publicPrefix}${path.slice(upstreamPrefix.length)}`
      : undefined;
    if (headers.location === undefined) delete headers.location;
  }
}

/** One proxy instance and keep-alive agents for every backend; targets are given per request. */
export function createUpstream(): {
  proxy: ProxyServer;
  agentFor: (endpoint: KubernetesApiEndpoint) => http.Agent;
  close: () => void;
} {
  const httpAgent = new http.Agent({ keepAlive: true, maxFreeSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxFreeSockets: 64 });
  const proxy = createProxyServer({ changeOrigin: true, xfwd: false, ws: true });
  return {
    proxy,
    agentFor: (endpoint) => (endpoint.baseUrl.protocol === 'https:' ? httpsAgent : httpAgent),
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
