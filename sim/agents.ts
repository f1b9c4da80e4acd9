/**
 * `POST /__sim/agents {"command", "hostname"}`: plays the person who runs a cluster registration
 * token's node command on their own server (rancher-api.md §5). The command is parsed as the
 * shell would split it, then as the agent reads its flags:
 * - RKE1 (`sudo docker run … rancher/rancher-agent:<ver> --server … --token … --worker …`): the
 *   agent registers a custom node, a `/v3/nodes` object with no `nodePoolId` and a `customConfig`;
 * - provisioning v2 (`curl -fL <server>/system-agent-install.sh | sudo sh -s - --server … --token …
 *   --worker …`): the system agent registers a custom machine, a CAPI machine of the v2 cluster
 *   with no machine pool, its `--label`/`--taints` kept in the `rke.cattle.io/labels` and
 *   `rke.cattle.io/taints` annotations as Rancher's planner reads them.
 * Either way the node then goes provisioning → active on the simulator's node timings.
 *
 * A token that is no live registration token of any cluster is refused as Rancher's connect
 * handler refuses it (401). Unlike a real agent, the simulated one refuses `--etcd`,
 * `--controlplane` and `--all-roles` (400): Paddock hands out worker-only commands, and a test
 * that ever sees one must fail loudly rather than grow a control plane.
 */
import { ApiError, json, type SimResponse } from './http';
import type { SimObject } from './store';
import type { World } from './world';

export type AgentForm = 'rke1' | 'rke2';

export interface AgentCommand {
  form: AgentForm;
  server: string;
  token: string;
  roles: { etcd: boolean; controlPlane: boolean; worker: boolean };
  labels: Record<string, string>;
  taints: Array<{ key: string; value: string; effect: string }>;
}

/** What the agents accept (rancher-agent options; system-agent-install.sh's arguments). */
const VALUE_FLAGS = new Set([
  '--server',
  '--token',
  '--ca-checksum',
  '--label',
  '--taints',
  '--node-name',
  '--address',
  '--internal-address',
]);
const ROLE_FLAGS = new Set(['--etcd', '--controlplane', '--worker', '--all-roles']);
const EFFECTS = new Set(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
const HOSTNAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const bad = (message: string) => new ApiError(400, 'BadRequest', message);

/** Splits a command line as `sh` would for these commands: blanks, single and double quotes. */
export function shellWords(command: string): string[] {
  const words: string[] = [];
  let current: string | null = null;
  let quote: '"' | "'" | null = null;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      current ??= '';
    } else if (/\s/.test(ch)) {
      if (current !== null) words.push(current);
      current = null;
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (quote) throw bad('the command has an unterminated quote');
  if (current !== null) words.push(current);
  return words;
}

/** The agent's view of a node command; throws 400 naming what is wrong. */
export function parseAgentCommand(command: string): AgentCommand {
  const words = shellWords(command);
  // The agent's own arguments start after its image (RKE1) or after `sh -s -` (system agent).
  const image = words.findIndex((w) => /^rancher\/rancher-agent(:|$)/.test(w));
  const dash = words.findIndex((w, i) => w === '-' && words[i - 1] === '-s' && words[i - 2] === 'sh');
  const installs = words.some((w) => /\/system-agent-install\.sh$/.test(w));
  let form: AgentForm;
  let args: string[];
  if (image !== -1 && words.slice(0, image).includes('docker')) {
    form = 'rke1';
    args = words.slice(image + 1);
  } else if (installs && dash !== -1) {
    form = 'rke2';
    args = words.slice(dash + 1);
  } else {
    throw bad(
      'not a node command: expected `docker run … rancher/rancher-agent` or `system-agent-install.sh | sh -s -`',
    );
  }
  const values = new Map<string, string[]>();
  const roles = { etcd: false, controlPlane: false, worker: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (ROLE_FLAGS.has(arg)) {
      if (arg === '--etcd' || arg === '--all-roles') roles.etcd = true;
      if (arg === '--controlplane' || arg === '--all-roles') roles.controlPlane = true;
      if (arg === '--worker' || arg === '--all-roles') roles.worker = true;
      continue;
    }
    if (!VALUE_FLAGS.has(arg)) throw bad(`flag provided but not defined: ${arg}`);
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) throw bad(`flag needs an argument: ${arg}`);
    values.set(arg, [...(values.get(arg) ?? []), value]);
  }
  const one = (flag: string) => values.get(flag)?.at(-1) ?? '';
  const labels: Record<string, string> = {};
  for (const label of values.get('--label') ?? []) {
    const eq = label.indexOf('=');
    if (eq <= 0) throw bad(`--label ${label}: expected key=value`);
    labels[label.slice(0, eq)] = label.slice(eq + 1);
  }
  const taints = (values.get('--taints') ?? [])
    .flatMap((list) => list.split(','))
    .map((taint) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(.+)$/.exec(taint);
      if (!m || !EFFECTS.has(m[3])) throw bad(`--taints ${taint}: expected key=value:Effect`);
      return { key: m[1], value: m[2] ?? '', effect: m[3] };
    });
  return { form, server: one('--server'), token: one('--token'), roles, labels, taints };
}

/** The control route: parse, authenticate, check, register. */
export function registerAgent(world: World, body: Record<string, unknown>): SimResponse {
  if (typeof body.command !== 'string' || body.command.trim() === '') throw bad('command must be a string');
  const hostname = body.hostname;
  if (typeof hostname !== 'string' || !HOSTNAME.test(hostname)) {
    throw bad('hostname must be a DNS label (lower case, at most 63 characters)');
  }
  const agent = parseAgentCommand(body.command);
  if (agent.server !== world.serverUrl) {
    throw bad(`--server must be this Rancher's server-url (${world.serverUrl}), got '${agent.server}'`);
  }
  if (!agent.token) throw bad('flag needs an argument: --token');
  const token = findToken(world, agent.token);
  // Rancher's connect handler answers an unknown token with 401 and the agent retries forever.
  if (!token) throw new ApiError(401, 'Unauthorized', 'the registration token is not valid');
  if (agent.roles.etcd || agent.roles.controlPlane) {
    throw bad('the simulated agent joins workers only: --etcd, --controlplane and --all-roles are refused');
  }
  if (!agent.roles.worker) throw bad('no role given: a node needs --worker');
  const cluster = world.clusters.table.get(token.fields.clusterId as string);
  if (!cluster || !world.clusters.isLive(cluster))
    throw new ApiError(401, 'Unauthorized', 'the cluster is gone');
  const provisioning = world.steve.provisioning.clusterOfTwin(cluster.id);
  const form: AgentForm = provisioning ? 'rke2' : 'rke1';
  if (agent.form !== form) {
    throw bad(
      form === 'rke2'
        ? 'this cluster registers nodes with the system agent (system-agent-install.sh), not rancher-agent'
        : 'this cluster registers nodes with rancher-agent (docker run), not the system agent',
    );
  }
  if (provisioning) {
    const machine = world.steve.provisioning.registerCustomMachine(provisioning, hostname, agent);
    return json(201, { form, id: `${machine.metadata.namespace}/${machine.metadata.name}`, hostname });
  }
  const node = world.nodes.registerCustom(cluster, hostname, agent);
  return json(201, { form, id: node.id, hostname });
}

function findToken(world: World, secret: string): SimObject | undefined {
  const tokens = world.registrationTokens;
  for (const id of tokens.table.sortedIds()) {
    const token = tokens.table.get(id)!;
    if (tokens.isLive(token) && token.fields.token === secret) return token;
  }
  return undefined;
}
