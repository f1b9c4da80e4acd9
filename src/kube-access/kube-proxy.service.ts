import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AuditRepository } from '../audit/audit.repository';
import { RateLimiter } from '../common/rate-limiter';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { isDatabaseUnavailable } from '../database/database-errors';
import { BackendDriversService } from '../rancher-backends/backend-drivers.service';
import { KubernetesApiEndpoint, kubernetesApiEndpoint } from '../rancher-backends/kubernetes-api';
import { KubeAuthenticator, KubeCaller } from './kube-authenticator.service';
import { KubeProblem } from './kube-status';
import {
  armTimeouts,
  createUpstream,
  refuseUpgrade,
  replacementFor,
  sendStatus,
  stripRequestHeaders,
  stripResponseHeaders,
  upstreamFailure,
} from './kube-upstream';
import { kubeProxyPath } from './kubeconfig.service';

/** `/k8s/clusters/{clusterId}` and the rest of the URL (path and query) after it. */
const KUBE_PATH = /^\/k8s\/clusters\/([^/?#]+)([/?].*)?$/;

/** Kubernetes' verb for each mutating method; these requests are audited. */
const MUTATING_VERBS: Record<string, string> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The rest of the URL as a path: `/`, `/api`, `/?x=y`. */
const normalizeRest = (rest: string | undefined) => (!rest ? '/' : rest.startsWith('/') ? rest : `/${rest}`);

export const isKubeProxyPath = (url: string | undefined) => KUBE_PATH.test(url ?? '');

/**
 * True for a path that stays under the cluster's API once the backend has decoded and cleaned
 * it: no `.`/`..` segment, no encoded slash or backslash, no empty segment. Otherwise
 * `/k8s/clusters/<id>/..%2F..%2Fv3/clusters` could reach Rancher's own API with the backend's token.
 */
function staysUnderCluster(rest: string): boolean {
  const path = rest.split('?', 1)[0];
  const segments = path.split('/').slice(1);
  return segments.every((segment, i) => {
    if (segment === '') return i === segments.length - 1;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    return decoded !== '.' && decoded !== '..' && !/[/\\]/.test(decoded);
  });
}

/** One proxied request or upgrade, from the first check until it ends. */
interface ProxyContext {
  clusterId: string;
  /** Path and query after `/k8s/clusters/{clusterId}`. */
  rest: string;
  caller: KubeCaller | null;
  endpoint: KubernetesApiEndpoint | null;
  /** The code of the `Status` Paddock answered with, if it did (for the audit row). */
  code: string | null;
  /** An upgrade's outcome (101 or a refusal) is known and recorded. */
  settled: boolean;
}

/**
 * The authenticating reverse proxy at `/k8s/clusters/{clusterId}/…`: authenticates the caller as
 * `KubeAuthenticator` says, counts the request against the same rate limits as `/v1`, refuses
 * impersonation, and forwards to the backend's per-cluster proxy with the backend's token. Bodies
 * stream both ways unbuffered (the handler runs before any body parser); WebSocket upgrades
 * (exec, attach, port-forward) go through the same checks. Mutating requests and upgrades are
 * audited. Errors Paddock itself answers with are Kubernetes `Status` objects (see kube-status.ts).
 */
@Injectable()
export class KubeProxyService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('KubeProxy');
  private readonly upstream = createUpstream();
  private readonly contexts = new WeakMap<IncomingMessage, ProxyContext>();
  /** Open streams and upgraded sockets, ended when the API shuts down. */
  private readonly open = new Set<{ destroy(): void }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly authenticator: KubeAuthenticator,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditRepository,
    private readonly drivers: BackendDriversService,
  ) {
    const { proxy } = this.upstream;
    proxy.on('proxyReq', (proxyReq, _req, _res, _options, socket) =>
      armTimeouts(proxyReq, socket, this.config.kubeProxy),
    );
    proxy.on('proxyReqWs', (proxyReq, req) => {
      proxyReq.once('socket', (socket) => armTimeouts(proxyReq, socket, this.config.kubeProxy));
      const context = this.contexts.get(req);
      if (!context) return;
      const settle = (status: number) => {
        if (context.settled) return;
        context.settled = true;
        this.record(req, context, 'connect', status);
      };
      proxyReq.once('upgrade', () => settle(101));
      proxyReq.once('response', (response) => settle(response.statusCode ?? 502));
    });
    proxy.on('proxyRes', (proxyRes, req, res) => this.onUpstreamResponse(proxyRes, req, res));
    // Errors are handled by each call's callback; this keeps an unexpected one from crashing.
    proxy.on('error', (error) => this.logger.warn({ err: error }, 'proxy error'));
  }

  /** Express middleware: handles `/k8s/clusters/…`, passes anything else on. */
  readonly middleware = (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const match = KUBE_PATH.exec(req.url ?? '');
    if (!match) return next();
    void this.serve(req, res, match[1], normalizeRest(match[2]));
  };

  /** The HTTP server's `upgrade` listener. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const match = KUBE_PATH.exec(req.url ?? '');
    if (!match) {
      refuseUpgrade(socket, new KubeProblem(404, 'NOT_FOUND', 'no WebSocket endpoint here'));
      return;
    }
    void this.serveUpgrade(req, socket, head, match[1], normalizeRest(match[2]));
  };

  beforeApplicationShutdown(): void {
    for (const stream of this.open) stream.destroy();
    this.open.clear();
    this.upstream.close();
  }

  private async serve(req: IncomingMessage, res: ServerResponse, clusterId: string, rest: string) {
    const started = Date.now();
    const context: ProxyContext = {
      clusterId,
      rest,
      caller: null,
      endpoint: null,
      code: null,
      settled: false,
    };
    this.contexts.set(req, context);
    const fail = (problem: KubeProblem) => {
      context.code = problem.code;
      sendStatus(res, problem);
    };
    const verb = MUTATING_VERBS[req.method ?? ''];
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : 499;
      if (verb) this.record(req, context, verb, status);
      this.logger.debug(
        {
          method: req.method,
          clusterId,
          status,
          subject: context.caller?.principal.subject,
          ms: Date.now() - started,
        },
        'kubernetes api request',
      );
    });
    try {
      const endpoint = await this.admit(req, context, (name, value) => res.setHeader(name, value));
      stripRequestHeaders(req);
      req.url = rest;
      this.track(res, () => this.endAtMaxDuration(res, fail));
      this.upstream.proxy.web(
        req,
        res,
        {
          target: endpoint.baseUrl,
          agent: this.upstream.agentFor(endpoint),
          headers: { authorization: endpoint.authorization },
        },
        (error) => fail(upstreamFailure(error as NodeJS.ErrnoException, this.config.kubeProxy)),
      );
    } catch (error) {
      fail(this.toProblem(error));
    }
  }

  private async serveUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    clusterId: string,
    rest: string,
  ) {
    const context: ProxyContext = {
      clusterId,
      rest,
      caller: null,
      endpoint: null,
      code: null,
      settled: false,
    };
    this.contexts.set(req, context);
    const extraHeaders: Record<string, string> = {};
    const refuse = (problem: KubeProblem) => {
      // After the upgrade the socket carries WebSocket frames: an error then just closes it.
      if (context.settled) return void socket.destroy();
      context.settled = true;
      context.code = problem.code;
      this.record(req, context, 'connect', problem.status);
      refuseUpgrade(
        socket,
        new KubeProblem(problem.status, problem.code, problem.message, {
          ...problem.headers,
          ...extraHeaders,
        }),
      );
    };
    try {
      const endpoint = await this.admit(req, context, (name, value) => (extraHeaders[name] = value));
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || req.method !== 'GET') {
        throw new KubeProblem(
          400,
          'UPGRADE_NOT_SUPPORTED',
          'only WebSocket upgrades are proxied (kubectl 1.30 or later uses them for exec, attach and port-forward)',
        );
      }
      stripRequestHeaders(req);
      req.url = rest;
      this.track(socket, () => socket.destroy());
      this.upstream.proxy.ws(
        req,
        socket,
        head,
        { target: endpoint.baseUrl, headers: { authorization: endpoint.authorization } },
        (error) => refuse(upstreamFailure(error as NodeJS.ErrnoException, this.config.kubeProxy)),
      );
    } catch (error) {
      refuse(this.toProblem(error));
    }
  }

  /**
   * Every check before a request may go upstream: who (401), which cluster (404), how often
   * (429), impersonation (403), a path that stays under the cluster (400), a cluster that exists
   * on its backend (503).
   */
  private async admit(
    req: IncomingMessage,
    context: ProxyContext,
    setHeader: (name: string, value: string) => void,
  ): Promise<KubernetesApiEndpoint> {
    const caller = await this.authenticator.authenticate(req.headers.authorization, context.clusterId);
    context.caller = caller;
    if (caller.principal.role !== 'admin') {
      const limited = await this.limiter.hit(caller.principal.credentialId, caller.target.projectName);
      if (limited) {
        setHeader('Retry-After', String(limited.retryAfterSeconds));
        throw new KubeProblem(
          429,
          'RATE_LIMITED',
          `too many requests for this ${limited.scope}; retry in ${limited.retryAfterSeconds} s`,
        );
      }
    }
    if (Object.keys(req.headers).some((name) => name.startsWith('impersonate-'))) {
      throw new KubeProblem(
        403,
        'IMPERSONATION_FORBIDDEN',
        'impersonation is not allowed through Paddock; requests act with the access Paddock gives your token',
      );
    }
    if (!staysUnderCluster(context.rest)) {
      throw new KubeProblem(
        400,
        'INVALID_PATH',
        'the path has dot segments, encoded slashes or empty segments',
      );
    }
    const rancherId = caller.target.rancherId;
    if (!rancherId) {
      throw new KubeProblem(
        503,
        'CLUSTER_NOT_READY',
        `cluster '${caller.target.clusterName}' is ${caller.target.state} and not yet reachable`,
      );
    }
    context.endpoint = kubernetesApiEndpoint(
      { url: caller.target.backendUrl, tokenCiphertext: caller.target.backendTokenCiphertext },
      rancherId,
      this.drivers.tokenCipher,
    );
    return context.endpoint;
  }

  /** Relays Kubernetes' own answers; replaces Rancher's errors and headers (see kube-upstream.ts). */
  private onUpstreamResponse(proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse): void {
    const context = this.contexts.get(req);
    if (!context?.endpoint) return;
    const replacement = replacementFor(proxyRes.statusCode ?? 502, proxyRes.headers['content-type']);
    if (replacement) {
      // Written synchronously, so the proxy neither copies the upstream headers nor pipes the body.
      proxyRes.resume();
      context.code = replacement.code;
      sendStatus(res, replacement);
      return;
    }
    stripResponseHeaders(
      proxyRes.headers,
      context.endpoint.baseUrl.pathname,
      kubeProxyPath(context.clusterId),
    );
    res.once('close', () => proxyRes.destroy());
    // The proxy copies status and headers right after this event, but they would leave only with
    // the first body byte: a watch with nothing to report yet would look like a hung request.
    process.nextTick(() => {
      if (!res.headersSent && !res.destroyed) res.flushHeaders();
    });
  }

  /** A watch may stay open without traffic, but not longer than the configured maximum. */
  private endAtMaxDuration(res: ServerResponse, fail: (problem: KubeProblem) => void): void {
    if (!res.headersSent) {
      fail(new KubeProblem(504, 'MAX_DURATION', 'the request took longer than Paddock allows'));
      return;
    }
    // Ending the chunked body cleanly lets a watch client resume from its last resourceVersion.
    res.end();
    res.destroy();
  }

  private track(stream: ServerResponse | Duplex, atMaxDuration: () => void): void {
    const entry = { destroy: () => stream.destroy() };
    this.open.add(entry);
    const timer = setTimeout(atMaxDuration, this.config.kubeProxy.maxDurationMs);
    stream.once('close', () => {
      clearTimeout(timer);
      this.open.delete(entry);
    });
  }

  private toProblem(error: unknown): KubeProblem {
    if (error instanceof KubeProblem) return error;
    if (isDatabaseUnavailable(error)) {
      return new KubeProblem(
        503,
        'DATABASE_UNAVAILABLE',
        'Paddock cannot check credentials right now; try again',
        {
          'Retry-After': '1',
        },
      );
    }
    const errorId = randomUUID();
    this.logger.error({ err: error, errorId }, 'unexpected error on the Kubernetes API proxy');
    return new KubeProblem(500, 'INTERNAL', `unexpected error ${errorId}`);
  }

  /** One audit row per mutating request or upgrade: who, which cluster, verb, path, status; no body. */
  private record(req: IncomingMessage, context: ProxyContext, verb: string, status: number): void {
    const principal = context.caller?.principal;
    this.audit
      .insert({
        actor: principal?.subject ?? 'anonymous',
        role: principal?.role ?? null,
        credentialId: principal?.credentialId ?? null,
        project: context.caller?.target.projectName ?? null,
        action: `kubernetes:${verb}`,
        method: req.method ?? 'GET',
        target: `${kubeProxyPath(context.clusterId)}${context.rest.split('?', 1)[0]}`,
        status,
        code: context.code,
        requestId: null,
      })
      .catch((error: unknown) => this.logger.error({ err: error }, 'could not record an audit event'));
  }
}
