/**
 * `pods/<pod>/exec` over WebSocket with the channel protocols `v5.channel.k8s.io` (preferred) and
 * `v4.channel.k8s.io`: every binary message starts with its stream's byte (0 stdin, 1 stdout,
 * 2 stderr, 3 error/status, 4 resize; v5 adds 255 = "close stream N"). The session ends with a
 * `Status` on stream 3 and a normal close, as the kubelet's does.
 *
 * The echo pod runs a few programs: `echo ARGS…` prints its arguments; `cat` copies stdin to
 * stdout until stdin closes (v5) or the client hangs up; `true` / `false` exit 0 / 1; any other
 * command exits 127. SPDY upgrades (kubectl's fallback) are not served.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { SimResponse } from '../http';
import type { KubeRequest } from './api';
import { ECHO_CONTAINER } from './pods';
import { getObject, resourceNamed, type KubeContext } from './resources';
import { badRequest } from './status';

const V5 = 'v5.channel.k8s.io';
const V4 = 'v4.channel.k8s.io';
const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const CLOSE = 255;

interface ExecOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

const sockets = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  handleProtocols: (protocols) => (protocols.has(V5) ? V5 : protocols.has(V4) ? V4 : false),
});

export function execResponse(
  ctx: KubeContext,
  namespace: string,
  podName: string,
  request: KubeRequest,
): SimResponse {
  getObject(ctx, resourceNamed('pods')!, namespace, podName);
  const options = parseOptions(request.query);
  if (!request.upgrade) throw badRequest('Upgrade request required');
  if (String(request.headers.upgrade).toLowerCase() !== 'websocket') {
    throw badRequest(
      `unable to upgrade: only WebSocket upgrades are served, not ${String(request.headers.upgrade)}`,
    );
  }
  const offered = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((protocol) => protocol.trim());
  if (!offered.includes(V5) && !offered.includes(V4)) {
    throw badRequest(`unable to upgrade: none of the requested subprotocols is supported (${V5}, ${V4})`);
  }
  const maxMs = ctx.world.timings.kubeStreamMaxMs;
  return {
    status: 101,
    body: null,
    upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      sockets.handleUpgrade(req, socket, head, (ws) => run(ws, options, maxMs)),
  };
}

function parseOptions(query: URLSearchParams): ExecOptions {
  const flag = (name: string) => ['true', '1'].includes(query.get(name) ?? '');
  const options: ExecOptions = {
    command: query.getAll('command'),
    stdin: flag('stdin'),
    stdout: flag('stdout'),
    stderr: flag('stderr'),
    tty: flag('tty'),
  };
  const container = query.get('container');
  if (container !== null && container !== ECHO_CONTAINER) {
    throw badRequest(`container ${container} is not valid for pod ${ECHO_CONTAINER}`);
  }
  if (options.command.length === 0)
    throw badRequest('you must specify at least one command for the container');
  if (!options.stdin && !options.stdout && !options.stderr) {
    throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
  }
  return options;
}

function run(ws: WebSocket, options: ExecOptions, maxMs: number): void {
  const send = (stream: number, data: string | Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([stream]), Buffer.from(data)]));
  };
  const stdout = (data: string | Buffer) => {
    if (options.stdout) send(STDOUT, data);
  };
  let finished = false;
  const finish = (status: Record<string, unknown>) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    send(STATUS, JSON.stringify(status));
    ws.close(1000);
  };
  const timer = setTimeout(
    () =>
      finish({
        metadata: {},
        status: 'Failure',
        message: 'exec session reached the server limit',
        reason: 'Timeout',
      }),
    maxMs,
  );
  ws.on('close', () => {
    finished = true;
    clearTimeout(timer);
  });
  ws.on('error', () => ws.terminate());

  const [program, ...args] = options.command;
  switch (program) {
    case 'echo':
      stdout(`${args.join(' ')}\n`);
      return finish(exitStatus(options.command, 0));
    case 'true':
    case 'false':
      return finish(exitStatus(options.command, program === 'true' ? 0 : 1));
    case 'cat':
      if (!options.stdin) return finish(exitStatus(options.command, 0));
      ws.on('message', (data: Buffer) => {
        if (data[0] === STDIN) stdout(data.subarray(1));
        else if (data[0] === CLOSE && data[1] === STDIN) finish(exitStatus(options.command, 0));
      });
      return;
    default:
      if (options.stderr && !options.tty) send(STDERR, `sh: ${program}: not found\n`);
      else stdout(`sh: ${program}: not found\n`);
      return finish(exitStatus(options.command, 127));
  }
}

/** The kubelet's final status: Success, or NonZeroExitCode with the code as a cause. */
function exitStatus(command: string[], code: number): Record<string, unknown> {
  if (code === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}
